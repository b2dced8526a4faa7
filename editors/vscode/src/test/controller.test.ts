// The Testing wiring (testing.ts) with a fake editor and a scripted server: discovery,
// the run profile, cancellation, continuous runs, refusals shown once, Show Trace Diff.

import { strict as assert } from "assert";
import { test } from "node:test";

import { ServerConnection, Testing } from "../testing";
import { FakeItem, FakeToken, host, TestMessage, TestRunRequest } from "./fakeVscode";

const A = "file:///w/a.clnrm.toml";
const B = "file:///w/b.clnrm.toml";
const r = (l: number) => ({ start: { line: l, character: 0 }, end: { line: l, character: 12 } });
const fileA = { uri: A, scenarios: [{ name: "smoke", range: r(2), steps: [] }, { name: "slow", range: r(9), steps: [] }] };
const fileB = { uri: B, scenarios: [{ name: "only", range: r(0), steps: [] }] };

/** A server that answers from a script and lets the test send notifications. */
class FakeServer implements ServerConnection {
  readonly requests: [string, unknown][] = [];
  private readonly handlers = new Map<string, (p: unknown) => void>();
  readonly logs: string[] = [];
  constructor(public answer: (method: string, params: unknown) => Promise<unknown>) {}
  sendRequest(method: string, params: unknown): Promise<unknown> {
    this.requests.push([method, params]);
    return this.answer(method, params);
  }
  onNotification(method: string, handler: (p: unknown) => void): { dispose(): void } {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }
  log(line: string): void {
    this.logs.push(line);
  }
  notify(method: string, params: unknown): void {
    this.handlers.get(method)?.(params);
  }
  result(uri: string, scenario: string, state: string, extra: object = {}): void {
    this.notify("clnrm/runResult", { uri, scenario, state, cached: false, durationMs: null, message: null, failures: [], steps: [], ...extra });
  }
  commands(): unknown[] {
    return this.requests.filter(([m]) => m === "workspace/executeCommand").map(([, p]) => p);
  }
}

function scenariosAnswer(params: unknown): unknown {
  const uri = (params as { uri?: string }).uri;
  return { files: uri === undefined ? [fileA, fileB] : [fileA, fileB].filter((f) => f.uri === uri) };
}

async function setup(answer?: (method: string, params: unknown) => Promise<unknown>, trusted = true) {
  const h = host(trusted);
  let continuousChanges = 0;
  const diffs: [string, string][] = [];
  const testing = new Testing(h.host, () => (continuousChanges += 1), async (uri, scenario) => {
    diffs.push([uri, scenario]);
  });
  const server = new FakeServer(answer ?? (async (m, p) => (m === "clnrm/scenarios" ? scenariosAnswer(p) : { scenarios: 1 })));
  await testing.attach(server);
  return { testing, server, ctrl: h.ctrl(), h, diffs, continuous: () => continuousChanges };
}

test("controller: one default Run profile that is also the continuous run; the workspace discovered at attach", async () => {
  const { ctrl, server } = await setup();
  assert.equal(ctrl.id, "clnrm");
  assert.equal(ctrl.profiles.length, 1);
  assert.deepEqual([ctrl.profiles[0].kind, ctrl.profiles[0].isDefault, ctrl.profiles[0].supportsContinuousRun], [1, true, true]);
  assert.deepEqual(server.requests[0], ["clnrm/scenarios", {}]);
  assert.deepEqual(ctrl.items.all().map((i) => i.label), ["a.clnrm.toml", "b.clnrm.toml"]);
  assert.ok(ctrl.refreshHandler);
});

test("controller: scenariosChanged re-asks for that file; a file with no entry goes; edits coalesce", async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let perFile = 0;
  let deleted = false;
  const { ctrl, server } = await setup(async (_m, p) => {
    if ((p as { uri?: string }).uri !== undefined) {
      perFile += 1;
      await gate;
      return deleted ? { files: [] } : { files: [{ uri: A, scenarios: [{ name: "renamed", range: r(2), steps: [] }] }] };
    }
    return scenariosAnswer(p);
  });
  server.notify("clnrm/scenariosChanged", { uri: A });
  server.notify("clnrm/scenariosChanged", { uri: A });
  server.notify("clnrm/scenariosChanged", { uri: A });
  release();
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  while (ctrl.items.get(A)?.children.all()[0]?.label !== "renamed") {
    await tick();
  }
  deleted = true;
  server.notify("clnrm/scenariosChanged", { uri: A });
  while (ctrl.items.get(A) !== undefined) {
    await tick();
  }
  // Requests for a file are one at a time, so the deletion's answer is the barrier: the
  // three changes made two requests (one in flight, one for the changes meanwhile).
  assert.equal(perFile, 3);
  assert.deepEqual(ctrl.items.ids(), [B]);
});

test("controller: Run sends runFile / runScenario, results stream into the run, it ends with the last verdict", async () => {
  const { ctrl, server } = await setup(async (m, p) => {
    if (m === "clnrm/scenarios") {
      return scenariosAnswer(p);
    }
    const [uri] = (p as { arguments: string[] }).arguments;
    for (const name of uri === A ? ["smoke", "slow"] : ["only"]) {
      server.result(uri, name, "queued");
    }
    return { scenarios: uri === A ? 2 : 1 };
  });
  const a = ctrl.items.get(A) as FakeItem;
  const only = ctrl.items.get(B)?.children.all()[0] as FakeItem;
  const done = ctrl.profiles[0].runHandler(new TestRunRequest([a, only]), new FakeToken());
  while (server.commands().length < 2) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(server.commands(), [
    { command: "clnrm.runFile", arguments: [A] },
    { command: "clnrm.runScenario", arguments: [B, "only"] },
  ]);
  server.result(A, "smoke", "running");
  server.result(A, "smoke", "passed", { durationMs: 5, cached: true });
  server.result(B, "only", "failed", { failures: [{ range: r(3), message: "exit code", expected: "0", actual: "2" }] });
  server.result(A, "slow", "errored", { message: "timed out" });
  await done;
  const run = ctrl.runs[0];
  assert.equal(run.ended, 1);
  assert.deepEqual(run.summary(), [
    "enqueued smoke", "enqueued slow", "enqueued only",
    "enqueued smoke", "enqueued slow", "enqueued only",
    "started smoke", "passed smoke", "failed only", "errored slow",
  ]);
  const [, , ms] = run.calls[8] as [string, string, TestMessage[]];
  assert.deepEqual([ms[0].expectedOutput, ms[0].actualOutput, ms[0].location?.range.start.line], ["0", "2", 3]);
  assert.equal(ctrl.runs.length, 1);
  assert.equal((ctrl.items.get(A)?.children.get(JSON.stringify([A, "smoke"])) as FakeItem).description, "(cached)");
});

test("controller: Stop ends the run; untrusted refusals error the items and are shown once", async () => {
  const { ctrl, server } = await setup();
  const token = new FakeToken();
  const done = ctrl.profiles[0].runHandler(new TestRunRequest(), token);
  while (server.commands().length < 2) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  token.cancel();
  await done;
  assert.equal(ctrl.runs[0].ended, 1);
  assert.deepEqual(ctrl.runs[0].summary().slice(3).sort(), ["skipped only", "skipped slow", "skipped smoke"]);

  const refused = await setup(async (m, p) => {
    if (m === "clnrm/scenarios") {
      return scenariosAnswer(p);
    }
    throw Object.assign(new Error("the workspace is not trusted: clnrm runs nothing in it"), { code: -32602 });
  }, false);
  await refused.ctrl.profiles[0].runHandler(new TestRunRequest(), new FakeToken());
  assert.deepEqual(refused.h.errors, ["clnrm: the workspace is not trusted: clnrm runs nothing in it"]);
  const run = refused.ctrl.runs[0];
  assert.deepEqual(run.summary().slice(3), ["errored smoke", "errored slow", "errored only"]);
  assert.equal((run.calls[3][2] as TestMessage[])[0].message, "the workspace is not trusted: clnrm runs nothing in it");
  assert.equal(run.ended, 1);
});

test("controller: the continuous run turns run-on-save on until VS Code stops it; saves land in its request", async () => {
  const { ctrl, server, testing, continuous } = await setup();
  const token = new FakeToken();
  const request = new TestRunRequest(undefined, undefined, ctrl.profiles[0], true);
  const running = ctrl.profiles[0].runHandler(request, token);
  assert.equal(testing.continuousActive(), true);
  assert.equal(continuous(), 1);
  server.result(A, "smoke", "queued");
  server.result(A, "smoke", "passed");
  assert.equal(ctrl.runs[0].request, request);
  assert.equal(ctrl.runs[0].ended, 1);
  token.cancel();
  await running;
  assert.equal(testing.continuousActive(), false);
  assert.equal(continuous(), 2);
  assert.equal(server.commands().length, 0, "the continuous run itself starts nothing");
  // Off: a save still shows, in a run of its own.
  server.result(B, "only", "passed");
  assert.equal(ctrl.runs[1].name, "clnrm: run from the editor");
  assert.deepEqual(ctrl.runs[1].request.include, [ctrl.items.get(B)]);
  assert.equal(ctrl.runs[1].request.continuous, true, "an automatic run: no failure peek popping up at each save");
});

test("controller: Show Trace Diff from a scenario, a step's message, not from a file; detach ends open runs", async () => {
  const { ctrl, testing, diffs, h, server } = await setup();
  const smoke = ctrl.items.get(A)?.children.all()[0] as FakeItem;
  await testing.showTraceDiffFor(smoke);
  await testing.showTraceDiffFor({ test: smoke, message: new TestMessage("x") });
  await testing.showTraceDiffFor(ctrl.items.get(A));
  assert.deepEqual(diffs, [[A, "smoke"], [A, "smoke"]]);
  assert.equal(h.warnings.length, 1);
  server.result(A, "smoke", "running");
  testing.detach();
  assert.equal(ctrl.runs[0].ended, 1);
  server.result(A, "smoke", "passed");
  assert.equal(ctrl.runs.length, 1, "no longer listening");
});

test("controller: a server restarted by the client ends the old process's runs and rediscovers", async () => {
  const { ctrl, testing, server } = await setup();
  const done = ctrl.profiles[0].runHandler(new TestRunRequest([ctrl.items.get(B) as FakeItem]), new FakeToken());
  while (server.commands().length < 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  testing.serverStopped();
  await done;
  assert.deepEqual(ctrl.runs[0].summary(), ["enqueued only", "skipped only"]);
  const asked = server.requests.filter(([m]) => m === "clnrm/scenarios").length;
  await testing.serverRestarted();
  assert.equal(server.requests.filter(([m]) => m === "clnrm/scenarios").length, asked + 1);
});
