// One `clnrm/runResult` notification → the calls on a TestRun that show it: enqueued,
// started, passed/failed/errored/skipped with duration, failures as TestMessages at their
// ranges (with expected/actual, so VS Code offers its diff view), `(cached)` shown.

import type * as vscode from "vscode";

import { Api, contains, parseRange, Rng, TestTree } from "./testTree";

export type State = "queued" | "running" | "passed" | "failed" | "errored" | "skipped";
const STATES: readonly State[] = ["queued", "running", "passed", "failed", "errored", "skipped"];

export interface Failure {
  range: Rng | undefined;
  message: string;
  expected: string | undefined;
  actual: string | undefined;
}
export interface StepResult {
  name: string;
  state: State;
  durationMs: number | undefined;
  failures: Failure[];
}
export interface RunResult {
  uri: string;
  scenario: string;
  state: State;
  cached: boolean;
  durationMs: number | undefined;
  message: string | undefined;
  failures: Failure[];
  steps: StepResult[];
}

/** The context value of failure messages: their "Show Trace Diff" menu entry keys on it. */
export const FAILURE_CONTEXT = "clnrm.failure";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}
function optString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function optDuration(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}
function state(v: unknown): State | undefined {
  return STATES.find((s) => s === v);
}
function failures(v: unknown): Failure[] {
  if (!Array.isArray(v)) {
    return [];
  }
  return v.filter(isObject).map((f) => ({
    range: parseRange(f.range),
    message: optString(f.message) ?? "",
    expected: optString(f.expected),
    actual: optString(f.actual),
  }));
}

/** Check a `clnrm/runResult` notification's params; undefined when they are not one. */
export function parseRunResult(v: unknown): RunResult | undefined {
  if (!isObject(v) || typeof v.uri !== "string" || typeof v.scenario !== "string") {
    return undefined;
  }
  const st = state(v.state);
  if (st === undefined) {
    return undefined;
  }
  const steps: StepResult[] = [];
  for (const s of Array.isArray(v.steps) ? v.steps : []) {
    const ss = isObject(s) ? state(s.state) : undefined;
    if (isObject(s) && typeof s.name === "string" && ss !== undefined) {
      steps.push({ name: s.name, state: ss, durationMs: optDuration(s.durationMs), failures: failures(s.failures) });
    }
  }
  return {
    uri: v.uri,
    scenario: v.scenario,
    state: st,
    cached: v.cached === true,
    durationMs: optDuration(v.durationMs),
    message: optString(v.message),
    failures: failures(v.failures),
    steps,
  };
}

/** A verdict ends the scenario's part in a run; queued and running do not. */
export function isVerdict(s: State): boolean {
  return s !== "queued" && s !== "running";
}

const MARK: Record<State, string> = { queued: "…", running: "▶", passed: "✓", failed: "✗", errored: "!", skipped: "-" };

/** The line a verdict adds to the run's output: `✓ smoke passed in 12 ms (cached)`. */
export function outputLine(r: RunResult): string {
  const took = r.durationMs === undefined ? "" : ` in ${Math.round(r.durationMs)} ms`;
  const why = r.message !== undefined && r.message !== "" && r.state !== "passed" ? `: ${r.message}` : "";
  return `${MARK[r.state]} ${r.scenario} ${r.state}${took}${r.cached ? " (cached)" : ""}${why}`;
}

/**
 * The TestMessage of one failure, at its range (the scenario header when it has none).
 * With both expected and actual it is a diff message; with one, the message says it.
 */
export function failureMessage(api: Api, uri: string, f: Failure, fallback: Rng | undefined, cached: boolean): vscode.TestMessage {
  let text = f.message === "" ? "failed" : f.message;
  let m: vscode.TestMessage;
  if (f.expected !== undefined && f.actual !== undefined) {
    m = api.TestMessage.diff(cachedText(text, cached), f.expected, f.actual);
  } else {
    if (f.expected !== undefined) {
      text += `\nexpected: ${f.expected}`;
    }
    if (f.actual !== undefined) {
      text += `\nactual: ${f.actual}`;
    }
    m = new api.TestMessage(cachedText(text, cached));
  }
  const at = f.range ?? fallback;
  if (at !== undefined) {
    m.location = new api.Location(api.Uri.parse(uri), new api.Range(at.start.line, at.start.character, at.end.line, at.end.character));
  }
  m.contextValue = FAILURE_CONTEXT;
  return m;
}

function cachedText(text: string, cached: boolean): string {
  return cached ? `${text} (cached result)` : text;
}

function rangeOf(item: vscode.TestItem | undefined): Rng | undefined {
  const r = item?.range;
  return r === undefined ? undefined : { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

/** Report one state of one item. */
function report(run: vscode.TestRun, item: vscode.TestItem, st: State, messages: () => vscode.TestMessage[], duration: number | undefined): void {
  switch (st) {
    case "queued":
      run.enqueued(item);
      break;
    case "running":
      run.started(item);
      break;
    case "passed":
      run.passed(item, duration);
      break;
    case "failed":
      run.failed(item, messages(), duration);
      break;
    case "errored":
      run.errored(item, messages(), duration);
      break;
    case "skipped":
      run.skipped(item);
      break;
  }
}

/**
 * Show `r` in `run`. Returns false when the scenario has no item (the tree is behind the
 * server: the caller re-asks for the file's scenarios).
 */
export function applyResult(api: Api, tree: TestTree, run: vscode.TestRun, r: RunResult): boolean {
  const item = tree.scenario(r.uri, r.scenario);
  if (item === undefined) {
    return false;
  }
  const header = rangeOf(item);
  const scenarioMessages = (): vscode.TestMessage[] => {
    const ms = r.failures.map((f) => failureMessage(api, r.uri, f, header, r.cached));
    if (r.message !== undefined && r.message !== "" && (ms.length === 0 || r.state === "errored")) {
      ms.unshift(failureMessage(api, r.uri, { range: undefined, message: r.message, expected: undefined, actual: undefined }, header, r.cached));
    }
    if (ms.length === 0) {
      ms.push(failureMessage(api, r.uri, { range: undefined, message: r.state, expected: undefined, actual: undefined }, header, r.cached));
    }
    return ms;
  };
  if (isVerdict(r.state)) {
    // Passed and failed verdicts can come from the result cache; skipped and errored are live.
    item.description = r.cached ? "(cached)" : undefined;
    run.appendOutput(`${outputLine(r)}\r\n`, undefined, item);
  }
  report(run, item, r.state, scenarioMessages, r.durationMs);

  // Steps: the server's state per step, by name in order; a scenario failure placed inside
  // a step's range is that step's message too.
  const steps = tree.steps(r.uri, r.scenario);
  const used = new Set<number>();
  for (const s of r.steps) {
    const i = steps.findIndex((st, idx) => !used.has(idx) && st.item.label === (s.name === "" ? `step ${idx + 1}` : s.name));
    if (i < 0) {
      continue;
    }
    used.add(i);
    const { item: stepItem, entry } = steps[i];
    const stepMessages = (): vscode.TestMessage[] => {
      const own = [...s.failures, ...r.failures.filter((f) => f.range !== undefined && contains(entry.range, f.range))];
      const ms = own.map((f) => failureMessage(api, r.uri, f, entry.range, r.cached));
      return ms.length > 0 ? ms : scenarioMessages();
    };
    report(run, stepItem, s.state, stepMessages, s.durationMs);
  }
  return true;
}
