// The Test Explorer's logic against a fake `vscode`: the item tree from `clnrm/scenarios`,
// runResult → TestRun calls, and which run each result lands in.

import { strict as assert } from "assert";
import { test } from "node:test";

import { applyResult, outputLine, parseRunResult, RunResult } from "../runResults";
import { command, planBatches, queuedCount, RunTracker } from "../runTracker";
import { withContinuousRun, toServerSettings } from "../settings";
import { parseScenarios, TestTree } from "../testTree";
import { api, asItem, asRun, controller, FakeItem, FakeRun, TestMessage, TestRunRequest } from "./fakeVscode";

const A = "file:///w/a.clnrm.toml";
const B = "file:///w/b.clnrm.toml";
const r = (l: number, c0 = 0, c1 = 10) => ({ start: { line: l, character: c0 }, end: { line: l, character: c1 } });

/** Two files: a has smoke (two steps) and slow; b has one scenario. */
function payload() {
  return {
    files: [
      {
        uri: A,
        scenarios: [
          { name: "smoke", range: r(2), steps: [{ name: "build", range: r(5) }, { name: "check", range: r(8) }] },
          { name: "slow", range: r(12), steps: [] },
        ],
      },
      { uri: B, scenarios: [{ name: "only", range: r(0), steps: [] }] },
    ],
  };
}

function setup() {
  const { fake, ctrl } = controller();
  const tree = new TestTree(api, ctrl, (uri) => uri.replace("file:///w/", ""));
  const files = parseScenarios(payload());
  assert.ok(files);
  tree.replaceAll(files);
  return { fake, tree };
}

function result(over: Partial<RunResult> & { scenario: string; state: RunResult["state"] }): unknown {
  return { uri: A, cached: false, durationMs: null, message: null, failures: [], steps: [], ...over };
}

function item(tree: TestTree, uri: string, name: string): FakeItem {
  const i = tree.scenario(uri, name) as unknown as FakeItem | undefined;
  assert.ok(i, `no item ${name}`);
  return i;
}

test("tree: files → scenarios → steps, with the server's ranges (gutter icons at headers)", () => {
  const { fake, tree } = setup();
  assert.deepEqual(fake.items.all().map((f) => f.label), ["a.clnrm.toml", "b.clnrm.toml"]);
  const a = fake.items.get(A);
  assert.ok(a);
  assert.deepEqual(a.children.all().map((s) => s.label), ["smoke", "slow"]);
  const smoke = item(tree, A, "smoke");
  assert.equal(smoke.range?.start.line, 2);
  assert.equal(smoke.uri?.toString(), A);
  assert.deepEqual(smoke.children.all().map((s) => [s.label, s.range?.start.line]), [["build", 5], ["check", 8]]);
  assert.deepEqual(tree.ref(asItem(smoke.children.all()[1])), { kind: "step", uri: A, scenario: "smoke", index: 1 });
  assert.deepEqual(tree.scenarioNames(A), ["smoke", "slow"]);
});

test("tree: a file's new answer updates items in place; no entry or no scenarios removes it", () => {
  const { fake, tree } = setup();
  const smoke = item(tree, A, "smoke");
  smoke.description = "(cached)";
  const [edited] = parseScenarios({ files: [{ uri: A, scenarios: [{ name: "smoke", range: r(4), steps: [] }, { name: "new", range: r(9), steps: [] }] }] }) ?? [];
  tree.updateFile(A, edited);
  assert.equal(item(tree, A, "smoke"), smoke, "the same item keeps its last result");
  assert.equal(smoke.range?.start.line, 4);
  assert.equal(smoke.description, "(cached)");
  assert.equal(smoke.children.size, 0);
  assert.equal(tree.scenario(A, "slow"), undefined);
  assert.deepEqual(fake.items.get(A)?.children.all().map((s) => s.label), ["smoke", "new"]);
  tree.updateFile(B, undefined);
  assert.deepEqual(fake.items.ids(), [A]);
  tree.updateFile(A, { uri: A, scenarios: [] });
  assert.equal(fake.items.size, 0);
  assert.equal(tree.scenario(A, "smoke"), undefined);
});

test("tree: an answer asked for before the one shown does not overwrite it", () => {
  const { fake, tree } = setup();
  const one = (name: string) => ({ uri: A, scenarios: [{ name, range: r(2), steps: [] }] });
  tree.updateFile(A, one("newer"), 5);
  // The workspace answer asked for earlier arrives late: a keeps the newer list, b goes.
  tree.replaceAll([one("older")], 4);
  assert.deepEqual(fake.items.get(A)?.children.all().map((s) => s.label), ["newer"]);
  assert.equal(fake.items.get(B), undefined);
  tree.updateFile(A, undefined, 3);
  assert.ok(fake.items.get(A), "a stale deletion is ignored too");
  tree.updateFile(A, one("latest"), 6);
  assert.deepEqual(fake.items.get(A)?.children.all().map((s) => s.label), ["latest"]);
});

test("tree: the workspace answer replaces everything; malformed entries are dropped", () => {
  const { fake, tree } = setup();
  const files = parseScenarios({
    files: [
      { uri: B, scenarios: [{ name: "only", range: r(0), steps: [{ name: 3, range: r(1) }] }, { name: "only", range: r(5) }, { name: "norange" }] },
      { uri: 7, scenarios: [] },
      "junk",
    ],
  });
  assert.ok(files);
  assert.deepEqual(files, [{ uri: B, scenarios: [{ name: "only", range: r(0), steps: [] }] }]);
  tree.replaceAll(files);
  assert.deepEqual(fake.items.ids(), [B]);
  assert.equal(parseScenarios({ nope: [] }), undefined);
  assert.equal(parseScenarios(null), undefined);
});

test("runResult: queued, running, passed with duration and (cached)", () => {
  const { fake, tree } = setup();
  const run = fake.createTestRun(new TestRunRequest(), "r");
  const steps = [{ name: "build", state: "queued", durationMs: null, failures: [] }];
  for (const state of ["queued", "running"] as const) {
    const parsed = parseRunResult(result({ scenario: "smoke", state, steps: steps.map((s) => ({ ...s, state })) as never }));
    assert.ok(parsed);
    assert.ok(applyResult(api, tree, asRun(run), parsed));
  }
  const passed = parseRunResult(result({ scenario: "smoke", state: "passed", cached: true, durationMs: 42 }));
  assert.ok(passed);
  applyResult(api, tree, asRun(run), passed);
  assert.deepEqual(run.summary(), ["enqueued smoke", "enqueued build", "started smoke", "started build", "passed smoke"]);
  assert.equal(run.calls[4][2], 42);
  assert.equal(item(tree, A, "smoke").description, "(cached)");
  assert.equal(run.output.at(-1), "✓ smoke passed in 42 ms (cached)\r\n");
  // A live verdict clears the mark.
  applyResult(api, tree, asRun(run), parseRunResult(result({ scenario: "smoke", state: "passed", durationMs: 5 })) as RunResult);
  assert.equal(item(tree, A, "smoke").description, undefined);
  // Unknown scenario: the tree is behind, the caller refreshes.
  assert.equal(applyResult(api, tree, asRun(run), parseRunResult(result({ scenario: "renamed", state: "passed" })) as RunResult), false);
  assert.equal(parseRunResult({ uri: A, scenario: "x", state: "exploded" }), undefined);
});

test("runResult: each failure a message at its range, expected/actual as a diff", () => {
  const { fake, tree } = setup();
  const run = fake.createTestRun(new TestRunRequest(), "r");
  const failed = parseRunResult(
    result({
      scenario: "smoke",
      state: "failed",
      durationMs: 1200,
      cached: true,
      message: "2 expectations unmet",
      failures: [
        { range: r(6, 2, 20), message: "exit code", expected: "0", actual: "1" },
        { range: r(14), message: "span missing", expected: "http.request", actual: null },
      ] as never,
      steps: [
        { name: "build", state: "failed", durationMs: null, failures: [] },
        { name: "check", state: "failed", durationMs: null, failures: [] },
      ] as never,
    }),
  );
  assert.ok(failed);
  applyResult(api, tree, asRun(run), failed);
  assert.deepEqual(run.summary(), ["failed smoke", "failed build", "failed check"]);
  const [, , messages, duration] = run.calls[0] as [string, string, TestMessage[], number];
  assert.equal(duration, 1200);
  assert.equal(messages.length, 2);
  assert.equal(messages[0].expectedOutput, "0");
  assert.equal(messages[0].actualOutput, "1");
  assert.equal(messages[0].message, "exit code (cached result)");
  assert.equal(messages[0].location?.range.start.line, 6);
  assert.equal(messages[0].location?.uri.toString(), A);
  assert.equal(messages[0].contextValue, "clnrm.failure");
  assert.equal(messages[1].expectedOutput, undefined, "no diff without both sides");
  assert.match(messages[1].message as string, /span missing\nexpected: http\.request/);
  // The failure inside the `build` step's range (line 5..5? no: line 6) is not in it; steps
  // without their own failure carry the scenario's messages.
  const [, , buildMessages] = run.calls[1] as [string, string, TestMessage[]];
  assert.equal(buildMessages.length, 2);
  assert.equal(item(tree, A, "smoke").description, "(cached)");
});

test("runResult: errored keeps the server's reason; a failure inside a step is that step's", () => {
  const { fake, tree } = setup();
  const run = fake.createTestRun(new TestRunRequest(), "r");
  applyResult(api, tree, asRun(run), parseRunResult(result({ scenario: "slow", state: "errored", message: "timed out after 30s", durationMs: 30000 })) as RunResult);
  const [kind, , ms] = run.calls[0] as [string, string, TestMessage[]];
  assert.equal(kind, "errored");
  assert.equal(ms[0].message, "timed out after 30s");
  assert.equal(ms[0].location?.range.start.line, 12, "placed at the scenario header");
  const failed = parseRunResult(
    result({
      scenario: "smoke",
      state: "failed",
      failures: [{ range: r(8, 1, 5), message: "stdout mismatch", expected: "ok", actual: "ko" }] as never,
      steps: [
        { name: "build", state: "passed", durationMs: 10, failures: [] },
        { name: "check", state: "failed", durationMs: null, failures: [] },
      ] as never,
    }),
  );
  applyResult(api, tree, asRun(run), failed as RunResult);
  assert.deepEqual(run.summary().slice(1), ["failed smoke", "passed build", "failed check"]);
  const [, , checkMs] = run.calls[3] as [string, string, TestMessage[]];
  assert.deepEqual(checkMs.map((m) => m.actualOutput), ["ko"]);
  assert.equal(outputLine(parseRunResult(result({ scenario: "s", state: "skipped" })) as RunResult), "- s skipped");
});

test("batches: whole files run as runFile, picks and exclusions as runScenario", () => {
  const { fake, tree } = setup();
  const a = asItem(fake.items.get(A));
  const b = asItem(fake.items.get(B));
  const smoke = asItem(item(tree, A, "smoke"));
  const slow = asItem(item(tree, A, "slow"));
  const step = asItem(item(tree, A, "smoke").children.all()[0]);
  assert.deepEqual(planBatches(tree, undefined, undefined), [{ uri: A, scenario: undefined }, { uri: B, scenario: undefined }]);
  assert.deepEqual(planBatches(tree, [a], [slow]), [{ uri: A, scenario: "smoke" }]);
  assert.deepEqual(planBatches(tree, [step, slow], undefined), [{ uri: A, scenario: "smoke" }, { uri: A, scenario: "slow" }]);
  assert.deepEqual(planBatches(tree, [smoke, a], undefined), [{ uri: A, scenario: undefined }]);
  assert.deepEqual(planBatches(tree, undefined, [b]), [{ uri: A, scenario: undefined }]);
  assert.deepEqual(command({ uri: A, scenario: undefined }), { command: "clnrm.runFile", arguments: [A] });
  assert.deepEqual(command({ uri: A, scenario: "smoke" }), { command: "clnrm.runScenario", arguments: [A, "smoke"] });
  assert.equal(queuedCount({ scenarios: 2 }, 5), 2);
  assert.equal(queuedCount(null, 5), 5);
});

function tracker() {
  const { fake, tree } = setup();
  let changes = 0;
  const t = new RunTracker(api, tree, (uri, session) => asRun(fake.createTestRun(session?.request as TestRunRequest ?? new TestRunRequest(), session ? "continuous" : `external ${uri}`)), () => (changes += 1));
  return { fake, tree, t, changes: () => changes };
}

test("explorer run: enqueued at once, results stream in, ends after the last verdict", async () => {
  const { fake, tree, t } = tracker();
  const run = fake.createTestRun(new TestRunRequest(), "explorer");
  const er = t.begin(asRun(run), planBatches(tree, undefined, undefined));
  assert.deepEqual(run.summary(), ["enqueued smoke", "enqueued slow", "enqueued only"]);
  // Notifications may come before the command's answer.
  t.route(parseRunResult(result({ scenario: "smoke", state: "running" })) as RunResult);
  t.planned(er, 0, 2);
  t.planned(er, 1, 1);
  t.route(parseRunResult(result({ scenario: "smoke", state: "passed", durationMs: 3 })) as RunResult);
  t.route(parseRunResult(result({ uri: B, scenario: "only", state: "failed", failures: [{ range: r(0), message: "m", expected: "a", actual: "b" }] as never })) as RunResult);
  assert.equal(run.ended, 0, "slow has no verdict yet");
  t.route(parseRunResult(result({ scenario: "slow", state: "passed" })) as RunResult);
  assert.equal(run.ended, 1);
  await er.done;
  assert.deepEqual(run.summary().slice(3), ["started smoke", "passed smoke", "failed only", "passed slow"]);
  assert.equal(fake.runs.length, 1, "no other run was made");
});

test("explorer run: what the server did not queue is skipped; an empty plan ends the run", () => {
  const { fake, tree, t } = tracker();
  const run = fake.createTestRun(new TestRunRequest(), "explorer");
  const er = t.begin(asRun(run), planBatches(tree, [asItem(fake.items.get(A))], undefined));
  t.planned(er, 0, 1);
  t.route(parseRunResult(result({ scenario: "smoke", state: "passed" })) as RunResult);
  assert.equal(run.ended, 1);
  assert.deepEqual(run.summary().slice(2), ["passed smoke", "skipped slow"]);
  const none = fake.createTestRun(new TestRunRequest(), "nothing");
  t.begin(asRun(none), []);
  assert.equal(none.ended, 1);
});

test("explorer run refused (untrusted): items errored with the reason, run ended", async () => {
  const { fake, tree, t } = tracker();
  const run = fake.createTestRun(new TestRunRequest(), "explorer");
  const er = t.begin(asRun(run), planBatches(tree, undefined, undefined));
  t.refused(er, 0, "the workspace is not trusted: clnrm runs nothing in it");
  t.refused(er, 1, "the workspace is not trusted: clnrm runs nothing in it");
  await er.done;
  assert.deepEqual(run.summary().slice(3), ["errored smoke", "errored slow", "errored only"]);
  const [, , ms] = run.calls[3] as [string, string, TestMessage[]];
  assert.equal(ms[0].message, "the workspace is not trusted: clnrm runs nothing in it");
  assert.equal(run.ended, 1);
});

test("cancel: pending items skipped, the run ends, late results of the cancelled batch are dropped", async () => {
  const { fake, t } = tracker();
  const run = fake.createTestRun(new TestRunRequest(), "explorer");
  const er = t.begin(asRun(run), [{ uri: A, scenario: undefined }]);
  t.route(parseRunResult(result({ scenario: "smoke", state: "queued" })) as RunResult);
  t.route(parseRunResult(result({ scenario: "slow", state: "queued" })) as RunResult);
  t.planned(er, 0, 2);
  t.route(parseRunResult(result({ scenario: "smoke", state: "passed" })) as RunResult);
  t.cancel(er);
  await er.done;
  assert.equal(run.ended, 1);
  assert.deepEqual(run.summary().slice(-2), ["passed smoke", "skipped slow"]);
  t.route(parseRunResult(result({ scenario: "slow", state: "running" })) as RunResult);
  t.route(parseRunResult(result({ scenario: "slow", state: "skipped" })) as RunResult);
  assert.equal(fake.runs.length, 1, "the cancelled scenario's leftovers make no new run");
  // The next run of it is shown again.
  t.route(parseRunResult(result({ scenario: "slow", state: "queued" })) as RunResult);
  assert.equal(fake.runs.length, 2);
});

test("runs started elsewhere (save, lens) get their own run, ended after their verdicts", () => {
  const { fake, t } = tracker();
  t.route(parseRunResult(result({ scenario: "smoke", state: "queued" })) as RunResult);
  t.route(parseRunResult(result({ scenario: "slow", state: "queued" })) as RunResult);
  t.route(parseRunResult(result({ scenario: "smoke", state: "passed", cached: true })) as RunResult);
  const ext = fake.runs[0] as FakeRun;
  assert.equal(ext.name, `external ${A}`);
  assert.equal(ext.ended, 0);
  t.route(parseRunResult(result({ scenario: "slow", state: "failed" })) as RunResult);
  assert.equal(ext.ended, 1);
  assert.deepEqual(ext.summary(), ["enqueued smoke", "enqueued slow", "passed smoke", "failed slow"]);
  // A lone verdict (no queued seen) is a run of its own, ended at once.
  t.route(parseRunResult(result({ scenario: "slow", state: "passed" })) as RunResult);
  assert.equal(fake.runs.length, 2);
  assert.equal(fake.runs[1].ended, 1);
});

test("continuous run: saves' results land in runs of its request; bookkeeping of on/off", () => {
  const { fake, t, changes } = tracker();
  const request = new TestRunRequest([fake.items.get(A) as FakeItem], undefined, undefined, true);
  const s = t.startContinuous(request as never);
  assert.ok(t.continuousActive());
  assert.equal(changes(), 1);
  const s2 = t.startContinuous(new TestRunRequest(undefined, undefined, undefined, true) as never);
  assert.equal(changes(), 1, "already on");
  t.route(parseRunResult(result({ scenario: "smoke", state: "queued" })) as RunResult);
  t.route(parseRunResult(result({ scenario: "smoke", state: "passed" })) as RunResult);
  assert.equal(fake.runs[0].request, request);
  assert.equal(fake.runs[0].ended, 1);
  t.stopContinuous(s);
  t.stopContinuous(s2);
  assert.equal(t.continuousActive(), false);
  assert.equal(changes(), 2);
  t.route(parseRunResult(result({ uri: B, scenario: "only", state: "passed" })) as RunResult);
  assert.equal(fake.runs[1].name, `external ${B}`);
  // Saves run while the continuous run is on, even with runOnSave off; never untrusted.
  const off = toServerSettings((k) => (k === "runOnSave" ? false : undefined), true);
  assert.equal(withContinuousRun(off, false).runOnSave, false);
  assert.equal(withContinuousRun(off, true).runOnSave, true);
  assert.equal(withContinuousRun(toServerSettings(() => undefined, false), true).runOnSave, false);
});

test("reset (server stopped): open runs end", () => {
  const { fake, tree, t } = tracker();
  const run = fake.createTestRun(new TestRunRequest(), "explorer");
  t.begin(asRun(run), planBatches(tree, [asItem(item(tree, A, "smoke"))], undefined));
  t.route(parseRunResult(result({ uri: B, scenario: "only", state: "queued" })) as RunResult);
  t.reset();
  assert.equal(run.ended, 1);
  assert.equal(fake.runs[1].ended, 1);
  assert.deepEqual(run.summary(), ["enqueued smoke", "skipped smoke"]);
});
