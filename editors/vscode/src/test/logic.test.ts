// Unit tests for the extension's own logic (no VS Code needed): node --test out/test/.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { test } from "node:test";

import { scenarioAt, scenarioBlocks, scenarioFromLenses } from "../scenarios";
import { resolveServer } from "../serverPath";
import { failureNotice, panelKey, traceDiffArgs, traceDiffPage } from "../replies";
import { FAILURE_CONTEXT } from "../runResults";
import { CONTROLLER_ID, fileId, scenarioId, SHOW_TRACE_DIFF_COMMAND, stepId } from "../testTree";
import { configurationItem, explicitValue, launchSettings, serverEnv, toServerSettings, DEFAULT_SETTINGS } from "../settings";

test("settings: restricted workspaces never run on save", () => {
  const read = (key: string) => ({ runOnSave: true, "executor.workers": 4, "executor.backend": "docker", logLevel: "debug" } as Record<string, unknown>)[key];
  const trusted = toServerSettings(read, true);
  assert.equal(trusted.runOnSave, true);
  assert.deepEqual(trusted.executor, { workers: 4, backend: "docker" });
  assert.equal(trusted.logLevel, "debug");
  const restricted = toServerSettings(read, false);
  assert.equal(restricted.runOnSave, false);
  assert.equal(restricted.trusted, false);
});

test("settings: bad values fall back to defaults; bad executor values are not sent", () => {
  const s = toServerSettings((k) => ({ "executor.backend": "kubernetes", "executor.workers": -3, logLevel: 7 } as Record<string, unknown>)[k], true);
  assert.deepEqual(s.executor, {});
  assert.equal(s.logLevel, DEFAULT_SETTINGS.logLevel);
});

test("settings: only what the user set reaches the server, so the workspace's config file keeps the rest", () => {
  // The manifest's defaults (`auto`, 0 workers) are not choices: sent, they would override
  // `backend = "local"` in .clnrm/config.toml.
  const unset = toServerSettings((k) => explicitValue(k === "executor.backend" ? { } : undefined), true);
  assert.deepEqual(unset.executor, {});
  assert.equal(explicitValue({ globalValue: "docker" }), "docker");
  assert.equal(explicitValue({ globalValue: "docker", workspaceValue: "podman" }), "podman");
  assert.equal(explicitValue({ workspaceValue: "podman", workspaceFolderValue: "local" }), "local");
  const chosen = toServerSettings((k) => explicitValue(k === "executor.backend" ? { globalValue: "podman" } : undefined), true);
  assert.deepEqual(chosen.executor, { backend: "podman" });
});

test("settings: workspace/configuration answers", () => {
  const s = toServerSettings(() => undefined, true);
  assert.deepEqual(configurationItem("clnrm", s), s);
  assert.deepEqual(configurationItem("clnrm.executor", s), s.executor);
  assert.equal(configurationItem("python", s), null);
  assert.equal(serverEnv({}, "debug").CLNRM_LSP_LOG, "debug");
  assert.equal(serverEnv({ CLNRM_LSP_LOG: "trace" }, "info").CLNRM_LSP_LOG, "trace");
});

test("server path: configured, then PATH, then ~/.cargo/bin", () => {
  const exists = new Set(["/opt/bin/clnrm-lsp", "/home/u/.cargo/bin/clnrm-lsp"]);
  const probe = { isExecutable: (f: string) => exists.has(f) };
  const base = { env: { PATH: "/usr/bin:/opt/bin" }, platform: "linux" as NodeJS.Platform, homeDir: "/home/u", workspaceFolder: "/w" };
  assert.deepEqual(resolveServer({ ...base, configured: "" }, probe).ok && "found", "found");
  const onPath = resolveServer({ ...base, configured: undefined }, probe);
  assert.ok(onPath.ok && onPath.command === "/opt/bin/clnrm-lsp");
  const cargo = resolveServer({ ...base, env: { PATH: "/usr/bin" }, configured: undefined }, probe);
  assert.ok(cargo.ok && cargo.command === "/home/u/.cargo/bin/clnrm-lsp");
  const missing = resolveServer({ ...base, configured: "/nope/clnrm-lsp" }, probe);
  assert.ok(!missing.ok && missing.reason.includes("/nope/clnrm-lsp"));
  const home = resolveServer({ ...base, configured: "~/.cargo/bin/clnrm-lsp" }, probe);
  assert.ok(home.ok && home.command === "/home/u/.cargo/bin/clnrm-lsp");
});

test("scenarios: the block under the cursor, steps included", () => {
  const lines = [
    "[meta]",
    'name = "x"',
    "[[scenario]]",
    'name = "smoke"',
    "[[scenario.steps]]",
    'name = "step one"',
    "[[scenario]]",
    "name = 'second'",
    "[otel]",
  ];
  assert.deepEqual(scenarioBlocks(lines).map((b) => b.name), ["smoke", "second"]);
  assert.equal(scenarioAt(lines, 5)?.name, "smoke");
  assert.equal(scenarioAt(lines, 7)?.name, "second");
  assert.equal(scenarioAt(lines, 0), undefined);
  assert.equal(scenarioFromLenses([{ line: 2, command: "clnrm.runScenario", args: ["u", "rendered"] }], 4), "rendered");
});

test("grammar and manifest agree", () => {
  const root = path.join(__dirname, "..", "..");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const grammar = JSON.parse(fs.readFileSync(path.join(root, "syntaxes", "clnrm.tmLanguage.json"), "utf8"));
  assert.equal(pkg.contributes.grammars[0].scopeName, grammar.scopeName);
  assert.deepEqual(pkg.contributes.languages[0].extensions, [".clnrm.toml", ".clnrm.toml.tera"]);
  // Every TextMate regex compiles in JavaScript's engine (the lookbehind-free subset).
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if ((k === "match" || k === "begin" || k === "end") && typeof v === "string") {
          assert.doesNotThrow(() => new RegExp(v), `${k}: ${v}`);
        } else {
          walk(v);
        }
      }
    }
  };
  walk(grammar);
  // Our command ids never collide with the server's (clnrm.runScenario, clnrm.showTraceDiff, ...),
  // which vscode-languageclient registers itself.
  const ids = pkg.contributes.commands.map((c: { command: string }) => c.command);
  for (const id of ids) {
    assert.match(id, /^clnrm\.(palette|testing)\./);
  }
  // Every menu entry names a declared command; the test-item and failure-message menus exist.
  for (const [menu, entries] of Object.entries(pkg.contributes.menus as Record<string, { command: string }[]>)) {
    for (const e of entries) {
      assert.ok(ids.includes(e.command), `${menu}: ${e.command}`);
    }
  }
  const item = pkg.contributes.menus["testing/item/context"][0];
  assert.equal(item.command, SHOW_TRACE_DIFF_COMMAND);
  // On scenarios and steps, not files: the `testId` regex tells their ids apart (VS Code
  // gives the item's own id, or the full id with its parents' ids before it).
  const when = /^controllerId == (\S+) && testId =~ \/(.+)\/$/.exec(item.when);
  assert.ok(when, item.when);
  assert.equal(when[1], CONTROLLER_ID);
  const idPattern = new RegExp(when[2]);
  const uri = "file:///w/a%22b%5B.clnrm.toml";
  assert.ok(idPattern.test(scenarioId(uri, "smoke")));
  assert.ok(idPattern.test(stepId(uri, "smoke", 0)));
  assert.ok(idPattern.test(`${CONTROLLER_ID}\u0000${fileId(uri)}\u0000${scenarioId(uri, "smoke")}`));
  assert.ok(!idPattern.test(fileId(uri)));
  const message = pkg.contributes.menus["testing/message/context"][0];
  assert.deepEqual([message.command, message.when], [SHOW_TRACE_DIFF_COMMAND, `testMessage == ${FAILURE_CONTEXT}`]);
  // A workspace with test files shows them in the Test Explorer before any file is opened.
  assert.deepEqual(pkg.activationEvents, ["workspaceContains:**/*.clnrm.toml", "workspaceContains:**/*.clnrm.toml.tera"]);
  // The Testing API used (continuous runs, message context values) needs VS Code 1.86.
  assert.equal(pkg.engines.vscode, "^1.86.0");
});

test("server path: the Looked in list names each place once, in search order", () => {
  const none = { isExecutable: () => false };
  const input = {
    configured: undefined,
    env: { PATH: "/usr/bin:/home/u/.cargo/bin:/usr/bin:/bin", CARGO_HOME: "/home/u/.cargo" },
    platform: "linux" as NodeJS.Platform,
    homeDir: "/home/u",
    workspaceFolder: undefined,
  };
  const r = resolveServer(input, none);
  assert.deepEqual(r.searched, ["/usr/bin/clnrm-lsp", "/home/u/.cargo/bin/clnrm-lsp", "/bin/clnrm-lsp"]);
  const bare = resolveServer({ ...input, configured: "clnrm-lsp" }, none);
  assert.deepEqual(bare.searched, ["/usr/bin/clnrm-lsp", "/home/u/.cargo/bin/clnrm-lsp", "/bin/clnrm-lsp"]);
});

test("settings: Restricted Mode still starts the user's own server path and args", () => {
  const read = (k: string) => ({ "server.path": "/opt/clnrm-lsp", "server.extraArgs": ["--log", 3] } as Record<string, unknown>)[k];
  assert.deepEqual(launchSettings(read), { path: "/opt/clnrm-lsp", extraArgs: ["--log"] });
  assert.deepEqual(launchSettings(() => undefined), { path: undefined, extraArgs: [] });
  assert.deepEqual(launchSettings((k) => (k === "server.path" ? "  " : "x")), { path: undefined, extraArgs: [] });
});

test("replies: a refused run is one notice with the server's reason", () => {
  const refused = Object.assign(new Error("runs are disabled in an untrusted workspace"), { code: -32600 });
  assert.equal(failureNotice(refused), "clnrm: runs are disabled in an untrusted workspace");
  assert.equal(failureNotice({ message: "no such scenario" }), "clnrm: no such scenario");
  assert.match(failureNotice(undefined), /^clnrm: the command failed/);
  assert.match(failureNotice(new Error("  ")), /^clnrm: the command failed/);
});

test("replies: trace diff pages, panel keys and lens arguments", () => {
  assert.deepEqual(traceDiffPage({ html: "<p>x</p>", markdown: "m", title: "t" }), { html: "<p>x</p>", markdown: "m", title: "t" });
  assert.equal(traceDiffPage({ html: "" }), undefined);
  assert.equal(traceDiffPage("markdown only"), undefined);
  assert.equal(traceDiffPage({ html: "<p/>" })?.title, "Trace diff");
  assert.equal(panelKey("file:///a", "s"), panelKey("file:///a", "s"));
  assert.notEqual(panelKey("file:///a", "s"), panelKey("file:///a", "t"));
  assert.notEqual(panelKey("a\u0000b", "c"), panelKey("a", "b\u0000c"));
  assert.deepEqual(traceDiffArgs(["file:///a", "smoke"]), { uri: "file:///a", scenario: "smoke" });
  assert.equal(traceDiffArgs(["file:///a"]), undefined);
});
