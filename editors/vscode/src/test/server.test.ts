// The Test Explorer's logic against the real server (no VS Code): the tree from
// `clnrm/scenarios`, an explorer run sent as `workspace/executeCommand` and shown from the
// `clnrm/runResult` stream, and an untrusted workspace's refusal. Needs a built clnrm-lsp:
// CLNRM_LSP_BIN, else debug/clnrm-lsp or debug/clnrm-lsp-under-test under CARGO_TARGET_DIR
// or the repository's target/; skipped without one.

import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { test } from "node:test";
import { pathToFileURL } from "url";
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

import { toServerSettings, withContinuousRun } from "../settings";
import { Testing } from "../testing";
import { FakeRun, FakeToken, host, TestMessage, TestRunRequest } from "./fakeVscode";

function serverBinary(): string | undefined {
  // tests/run.sh runs this after `cargo test --workspace`, which builds the e2e crate's copy.
  const dirs = [process.env.CARGO_TARGET_DIR, path.join(__dirname, "..", "..", "..", "..", "target")]
    .filter((d): d is string => typeof d === "string" && d !== "")
    .map((d) => path.join(d, "debug"));
  const candidates = [process.env.CLNRM_LSP_BIN, ...dirs.flatMap((d) => [path.join(d, "clnrm-lsp"), path.join(d, "clnrm-lsp-under-test")])];
  return candidates.find((c): c is string => typeof c === "string" && c !== "" && fs.existsSync(c));
}

const BIN = serverBinary();

const PASS = '[meta]\nname = "p"\nversion = "1"\n\n[[scenario]]\nname = "ok"\nrun = "true"\n';
const FAIL = '[meta]\nname = "f"\nversion = "1"\n\n[[scenario]]\nname = "counts"\nrun = "true"\n\n[expect.counts]\nspans_total = { gte = 50 }\n';

/** The extension's settings with runOnSave off, on the local backend. */
function settings(trusted: boolean, continuous: boolean) {
  const base = withContinuousRun(toServerSettings((k) => (k === "runOnSave" ? false : undefined), trusted), continuous);
  return { ...base, executor: { ...base.executor, backend: "local", services: "off" } };
}

const STEPS = '[meta]\nname = "s"\nversion = "1"\n\n[[scenario]]\nname = "build"\n\n[[scenario.steps]]\nname = "compile"\ncommand = ["true"]\n\n[[scenario.steps]]\nname = "link"\ncommand = ["true"]\n\n[[scenario]]\nname = "smoke"\nrun = "true"\n';

interface Session {
  trusted: boolean;
  conn: MessageConnection;
  proc: ChildProcess;
  root: string;
  uri: (name: string) => string;
}

async function start(trusted: boolean): Promise<Session> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "clnrm-vscode-")));
  // The local backend, no services: the verdict does not depend on a container engine.
  fs.mkdirSync(path.join(root, ".clnrm"));
  fs.writeFileSync(path.join(root, ".clnrm", "config.toml"), '[executor]\nbackend = "local"\nservices = "off"\n');
  fs.writeFileSync(path.join(root, "pass.clnrm.toml"), PASS);
  fs.writeFileSync(path.join(root, "fail.clnrm.toml"), FAIL);
  fs.writeFileSync(path.join(root, "steps.clnrm.toml"), STEPS);
  const proc = spawn(BIN as string, ["--stdio"], { cwd: root, stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, CLNRM_LSP_LOG: "warn" } });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout as NodeJS.ReadableStream), new StreamMessageWriter(proc.stdin as NodeJS.WritableStream));
  conn.listen();
  await conn.sendRequest("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(root).toString(),
    capabilities: {},
    initializationOptions: settings(trusted, false),
  });
  await conn.sendNotification("initialized", {});
  return { trusted, conn, proc, root, uri: (name) => pathToFileURL(path.join(root, name)).toString() };
}

async function stop(s: Session): Promise<void> {
  await s.conn.sendRequest("shutdown");
  await s.conn.sendNotification("exit");
  await new Promise<void>((resolve) => (s.proc.exitCode !== null ? resolve() : s.proc.once("exit", () => resolve())));
  s.conn.dispose();
  fs.rmSync(s.root, { recursive: true, force: true });
}

/** The extension's Testing class on a fake editor, attached to the real server. */
async function attached(s: Session) {
  const h = host(s.trusted);
  const testing = new Testing(
    h.host,
    // What extension.ts does when continuous running turns on or off: new settings.
    () => void s.conn.sendNotification("workspace/didChangeConfiguration", { settings: { clnrm: settings(s.trusted, testing.continuousActive()) } }),
    async () => undefined,
  );
  await testing.attach({
    sendRequest: (method, params) => s.conn.sendRequest(method, params),
    onNotification: (method, handler) => s.conn.onNotification(method, handler),
    log: () => undefined,
  });
  return { testing, ctrl: h.ctrl(), errors: h.errors };
}

function verdicts(run: FakeRun): string[] {
  return run.calls.filter((c) => ["passed", "failed", "errored", "skipped"].includes(c[0])).map((c) => `${c[0]} ${c[1]}`).sort();
}

test("real server: discovered tree, an explorer run streamed to its end, expected/actual", { skip: BIN === undefined && "no clnrm-lsp binary (set CLNRM_LSP_BIN)", timeout: 120_000 }, async () => {
  const s = await start(true);
  try {
    const { ctrl } = await attached(s);
    assert.deepEqual(ctrl.items.all().map((f) => f.label).sort(), ["fail.clnrm.toml", "pass.clnrm.toml", "steps.clnrm.toml"]);
    const build = ctrl.items.get(s.uri("steps.clnrm.toml"))?.children.all()[0];
    assert.deepEqual(build?.children.all().map((st) => st.label), ["compile", "link"]);
    const counts = ctrl.items.get(s.uri("fail.clnrm.toml"))?.children.all()[0];
    assert.equal(counts?.label, "counts");
    assert.equal(counts?.range?.start.line, 4, "the [[scenario]] header");

    await ctrl.profiles[0].runHandler(new TestRunRequest(), new FakeToken());
    const run = ctrl.runs[0];
    assert.equal(run.ended, 1);
    assert.deepEqual(verdicts(run), ["failed counts", "passed build", "passed compile", "passed link", "passed ok", "passed smoke"]);
    const failed = run.calls.find((c) => c[0] === "failed") as [string, string, TestMessage[], number];
    const diff = failed[2].find((m) => m.expectedOutput !== undefined);
    assert.ok(diff, JSON.stringify(failed[2]));
    assert.match(diff.expectedOutput as string, /50/);
    assert.equal(typeof diff.actualOutput, "string");
    assert.equal(diff.location?.range.start.line, 9, "on the spans_total key");
    assert.equal(typeof failed[3], "number", "with its duration");
    assert.ok(run.summary().includes("started ok"), run.summary().join(", "));
    assert.equal(ctrl.runs.length, 1, "every result went to the explorer run");
  } finally {
    await stop(s);
  }
});

test("real server: the continuous run makes saves run (runOnSave off) and shows them; cached re-runs marked", { skip: BIN === undefined && "no clnrm-lsp binary (set CLNRM_LSP_BIN)", timeout: 120_000 }, async () => {
  const s = await start(true);
  try {
    const { ctrl, testing } = await attached(s);
    const uri = s.uri("pass.clnrm.toml");
    await s.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "clnrm", version: 1, text: PASS } });
    const token = new FakeToken();
    const request = new TestRunRequest(undefined, undefined, ctrl.profiles[0], true);
    const continuous = ctrl.profiles[0].runHandler(request, token);
    assert.ok(testing.continuousActive());
    for (let round = 1; round <= 2; round++) {
      await s.conn.sendNotification("textDocument/didSave", { textDocument: { uri } });
      while (ctrl.runs.length < round || ctrl.runs[round - 1].ended === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const run = ctrl.runs[round - 1];
      assert.equal(run.request, request, "in the continuous request");
      assert.deepEqual(verdicts(run), ["passed ok"]);
    }
    // The second save ran the unchanged scenario from the result cache.
    const ok = ctrl.items.get(uri)?.children.all()[0];
    assert.equal(ok?.description, "(cached)");
    assert.match(ctrl.runs[1].output.join(""), /✓ ok passed .*\(cached\)/);
    token.cancel();
    await continuous;
    assert.equal(testing.continuousActive(), false);
  } finally {
    await stop(s);
  }
});

test("real server: an untrusted workspace lists scenarios, runs end errored with the reason shown once", { skip: BIN === undefined && "no clnrm-lsp binary (set CLNRM_LSP_BIN)", timeout: 120_000 }, async () => {
  const s = await start(false);
  try {
    const { ctrl, errors } = await attached(s);
    assert.equal(ctrl.items.size, 3);
    await ctrl.profiles[0].runHandler(new TestRunRequest(), new FakeToken());
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^clnrm: .*not trusted/);
    const run = ctrl.runs[0];
    assert.deepEqual(verdicts(run), ["errored build", "errored counts", "errored ok", "errored smoke"]);
    assert.equal(run.ended, 1);
  } finally {
    await stop(s);
  }
});
