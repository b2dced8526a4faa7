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

import { failureReason } from "../replies";
import { parseRunResult } from "../runResults";
import { command, planBatches, queuedCount, RunTracker } from "../runTracker";
import { parseScenarios, TestTree } from "../testTree";
import { api, asRun, controller, FakeRun, TestMessage, TestRunRequest } from "./fakeVscode";

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

interface Session {
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
  const proc = spawn(BIN as string, ["--stdio"], { cwd: root, stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, CLNRM_LSP_LOG: "warn" } });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout as NodeJS.ReadableStream), new StreamMessageWriter(proc.stdin as NodeJS.WritableStream));
  conn.listen();
  await conn.sendRequest("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(root).toString(),
    capabilities: {},
    initializationOptions: { trusted, runOnSave: false, executor: { backend: "local", services: "off" } },
  });
  await conn.sendNotification("initialized", {});
  return { conn, proc, root, uri: (name) => pathToFileURL(path.join(root, name)).toString() };
}

async function stop(s: Session): Promise<void> {
  await s.conn.sendRequest("shutdown");
  await s.conn.sendNotification("exit");
  await new Promise<void>((resolve) => (s.proc.exitCode !== null ? resolve() : s.proc.once("exit", () => resolve())));
  s.conn.dispose();
  fs.rmSync(s.root, { recursive: true, force: true });
}

/** The extension's run handler, minus VS Code: plan, send, route results until done. */
async function explorerRun(s: Session, tree: TestTree, tracker: RunTracker, run: FakeRun): Promise<string[]> {
  const er = tracker.begin(asRun(run), planBatches(tree, undefined, undefined));
  const notices: string[] = [];
  for (let i = 0; i < er.batches.length; i++) {
    try {
      const answer = await s.conn.sendRequest("workspace/executeCommand", command(er.batches[i]));
      tracker.planned(er, i, queuedCount(answer, er.asked(i)));
    } catch (e) {
      notices.push(failureReason(e));
      tracker.refused(er, i, failureReason(e));
    }
  }
  await er.done;
  return notices;
}

async function discovered(s: Session) {
  const { fake, ctrl } = controller();
  const tree = new TestTree(api, ctrl, (u) => path.basename(u));
  const files = parseScenarios(await s.conn.sendRequest("clnrm/scenarios", {}));
  assert.ok(files);
  tree.replaceAll(files);
  const tracker = new RunTracker(api, tree, () => asRun(fake.createTestRun(new TestRunRequest(), "external")));
  s.conn.onNotification("clnrm/runResult", (params: unknown) => {
    const r = parseRunResult(params);
    assert.ok(r, JSON.stringify(params));
    tracker.route(r);
  });
  return { fake, tree, tracker };
}

test("real server: discovered tree, an explorer run streamed to its end, expected/actual", { skip: BIN === undefined && "no clnrm-lsp binary (set CLNRM_LSP_BIN)", timeout: 120_000 }, async () => {
  const s = await start(true);
  try {
    const { fake, tree, tracker } = await discovered(s);
    assert.deepEqual(fake.items.all().map((f) => f.label).sort(), ["fail.clnrm.toml", "pass.clnrm.toml"]);
    assert.deepEqual(tree.scenarioNames(s.uri("fail.clnrm.toml")), ["counts"]);
    assert.equal(tree.scenario(s.uri("fail.clnrm.toml"), "counts")?.range?.start.line, 4, "the [[scenario]] header");

    const run = fake.createTestRun(new TestRunRequest(), "explorer");
    assert.deepEqual(await explorerRun(s, tree, tracker, run), []);
    assert.equal(run.ended, 1);
    const verdicts = run.calls.filter((c) => ["passed", "failed", "errored", "skipped"].includes(c[0]));
    assert.deepEqual(verdicts.map((c) => `${c[0]} ${c[1]}`).sort(), ["failed counts", "passed ok"]);
    const failed = verdicts.find((c) => c[0] === "failed") as [string, string, TestMessage[], number];
    const diff = failed[2].find((m) => m.expectedOutput !== undefined);
    assert.ok(diff, JSON.stringify(failed[2]));
    assert.match(diff.expectedOutput as string, /50/);
    assert.equal(typeof diff.actualOutput, "string");
    assert.equal(diff.location?.range.start.line, 9, "on the spans_total key");
    assert.equal(typeof failed[3], "number", "with its duration");
    assert.ok(run.summary().includes("started ok"), run.summary().join(", "));
    assert.equal(fake.runs.length, 1, "every result went to the explorer run");
  } finally {
    await stop(s);
  }
});

test("real server: an untrusted workspace lists scenarios, runs end errored with the reason", { skip: BIN === undefined && "no clnrm-lsp binary (set CLNRM_LSP_BIN)", timeout: 120_000 }, async () => {
  const s = await start(false);
  try {
    const { fake, tree, tracker } = await discovered(s);
    assert.equal(fake.items.size, 2);
    const run = fake.createTestRun(new TestRunRequest(), "explorer");
    const notices = await explorerRun(s, tree, tracker, run);
    assert.equal(notices.length, 2);
    assert.match(notices[0], /not trusted/);
    assert.deepEqual(run.summary().filter((c) => c.startsWith("errored")).sort(), ["errored counts", "errored ok"]);
    assert.equal(run.ended, 1);
  } finally {
    await stop(s);
  }
});
