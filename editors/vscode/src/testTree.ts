// The Test Explorer's items: files → scenarios → steps, built from the server's
// `clnrm/scenarios` answers. Only types come from `vscode`; the values it needs (Range,
// Uri, …) are passed in, so node's test runner drives it with a fake.

import type * as vscode from "vscode";

export interface Pos {
  line: number;
  character: number;
}
export interface Rng {
  start: Pos;
  end: Pos;
}
export interface StepEntry {
  name: string;
  range: Rng;
}
export interface ScenarioEntry {
  name: string;
  range: Rng;
  steps: StepEntry[];
}
export interface FileEntry {
  uri: string;
  scenarios: ScenarioEntry[];
}

/** The TestController's id (package.json's test menus name it in `controllerId == clnrm`). */
export const CONTROLLER_ID = "clnrm";
/** The command behind "Show Trace Diff" on a test item or a failure message. */
export const SHOW_TRACE_DIFF_COMMAND = "clnrm.testing.showTraceDiff";

/** The parts of the `vscode` module the testing code constructs. */
export type Api = Pick<typeof vscode, "Uri" | "Range" | "Location" | "TestMessage" | "TestRunRequest">;
/** The parts of a TestController the tree and the runs use. */
export type Controller = Pick<vscode.TestController, "items" | "createTestItem" | "createTestRun">;

/** What an item stands for. */
export type Ref =
  | { kind: "file"; uri: string }
  | { kind: "scenario"; uri: string; scenario: string }
  | { kind: "step"; uri: string; scenario: string; index: number };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function isPos(v: unknown): v is Pos {
  return isObject(v) && Number.isInteger(v.line) && Number.isInteger(v.character) && (v.line as number) >= 0 && (v.character as number) >= 0;
}

/** A protocol Range, or undefined when the value is not one. */
export function parseRange(v: unknown): Rng | undefined {
  if (!isObject(v) || !isPos(v.start) || !isPos(v.end)) {
    return undefined;
  }
  return { start: { line: v.start.line, character: v.start.character }, end: { line: v.end.line, character: v.end.character } };
}

/**
 * Check a `clnrm/scenarios` answer. Malformed entries are dropped, not fatal; within a file
 * the first scenario of a name wins (names identify scenarios in runs).
 */
export function parseScenarios(value: unknown): FileEntry[] | undefined {
  if (!isObject(value) || !Array.isArray(value.files)) {
    return undefined;
  }
  const files: FileEntry[] = [];
  for (const f of value.files) {
    if (!isObject(f) || typeof f.uri !== "string" || f.uri === "" || !Array.isArray(f.scenarios)) {
      continue;
    }
    const seen = new Set<string>();
    const scenarios: ScenarioEntry[] = [];
    for (const s of f.scenarios) {
      const range = isObject(s) ? parseRange(s.range) : undefined;
      if (!isObject(s) || typeof s.name !== "string" || range === undefined || seen.has(s.name)) {
        continue;
      }
      seen.add(s.name);
      const steps: StepEntry[] = [];
      for (const st of Array.isArray(s.steps) ? s.steps : []) {
        const r = isObject(st) ? parseRange(st.range) : undefined;
        if (isObject(st) && typeof st.name === "string" && r !== undefined) {
          steps.push({ name: st.name, range: r });
        }
      }
      scenarios.push({ name: s.name, range, steps });
    }
    files.push({ uri: f.uri, scenarios });
  }
  return files;
}

/**
 * Item ids: unique across the controller, stable across refreshes. Scenario and step ids
 * are JSON arrays, file ids plain uris (which never hold `["`): package.json's
 * `testId =~ /\["/` shows "Show Trace Diff" on scenarios and steps only.
 */
export function fileId(uri: string): string {
  return uri;
}
export function scenarioId(uri: string, scenario: string): string {
  return JSON.stringify([uri, scenario]);
}
export function stepId(uri: string, scenario: string, index: number): string {
  return JSON.stringify([uri, scenario, index]);
}

/** Does `outer` contain `inner` (both ends inclusive)? */
export function contains(outer: Rng, inner: Rng): boolean {
  const le = (a: Pos, b: Pos) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return le(outer.start, inner.start) && le(inner.end, outer.end);
}

export class TestTree {
  private readonly files = new Map<string, vscode.TestItem>();
  /** scenarioId → item. */
  private readonly scenarios = new Map<string, vscode.TestItem>();
  /** scenarioId → its step entries (ranges, to place failures). */
  private readonly stepEntries = new Map<string, StepEntry[]>();
  private readonly refs = new WeakMap<vscode.TestItem, Ref>();
  /** uri → when the answer it shows was asked for. */
  private readonly asOf = new Map<string, number>();

  constructor(
    private readonly api: Api,
    private readonly ctrl: Controller,
    /** The label of a file item (VS Code: the workspace-relative path). */
    private readonly fileLabel: (uri: string) => string,
  ) {}

  range(r: Rng): vscode.Range {
    return new this.api.Range(r.start.line, r.start.character, r.end.line, r.end.character);
  }

  /**
   * The whole workspace's answer: files missing from it are removed. `asOf` orders answers
   * by when they were asked for: a file already updated from a later request keeps that
   * (answers to concurrent requests can arrive in any order).
   */
  replaceAll(entries: readonly FileEntry[], asOf?: number): void {
    const keep = new Set(entries.map((e) => e.uri));
    for (const uri of [...this.files.keys()]) {
      if (!keep.has(uri)) {
        this.updateFile(uri, undefined, asOf);
      }
    }
    for (const e of entries) {
      this.updateFile(e.uri, e, asOf);
    }
  }

  /**
   * One file's answer. No entry (deleted, unreadable) or no scenarios: the file's items go.
   * Existing items are updated in place so their last results stay visible. An answer
   * asked for before the one already applied (`asOf`) is ignored.
   */
  updateFile(uri: string, entry: FileEntry | undefined, asOf?: number): void {
    if (asOf !== undefined) {
      if ((this.asOf.get(uri) ?? -Infinity) > asOf) {
        return;
      }
      this.asOf.set(uri, asOf);
    }
    if (entry === undefined || entry.scenarios.length === 0) {
      if (this.files.has(uri)) {
        this.files.delete(uri);
        this.ctrl.items.delete(fileId(uri));
      }
      this.forgetScenarios(uri, new Set());
      return;
    }
    let file = this.files.get(uri);
    if (file === undefined) {
      file = this.ctrl.createTestItem(fileId(uri), this.fileLabel(uri), this.api.Uri.parse(uri));
      this.refs.set(file, { kind: "file", uri });
      this.files.set(uri, file);
      this.ctrl.items.add(file);
    }
    const names = new Set(entry.scenarios.map((s) => s.name));
    this.forgetScenarios(uri, names);
    file.children.replace(entry.scenarios.map((s) => this.scenarioItem(uri, s)));
  }

  private scenarioItem(uri: string, s: ScenarioEntry): vscode.TestItem {
    const id = scenarioId(uri, s.name);
    let item = this.scenarios.get(id);
    if (item === undefined) {
      item = this.ctrl.createTestItem(id, s.name, this.api.Uri.parse(uri));
      this.refs.set(item, { kind: "scenario", uri, scenario: s.name });
      this.scenarios.set(id, item);
    }
    item.range = this.range(s.range);
    const steps = s.steps.map((st, index) => {
      const sid = stepId(uri, s.name, index);
      const existing = item?.children.get(sid);
      const step = existing ?? this.ctrl.createTestItem(sid, st.name === "" ? `step ${index + 1}` : st.name, this.api.Uri.parse(uri));
      step.label = st.name === "" ? `step ${index + 1}` : st.name;
      step.range = this.range(st.range);
      this.refs.set(step, { kind: "step", uri, scenario: s.name, index });
      return step;
    });
    item.children.replace(steps);
    this.stepEntries.set(id, s.steps);
    return item;
  }

  private forgetScenarios(uri: string, keep: Set<string>): void {
    for (const [id, item] of [...this.scenarios]) {
      const ref = this.refs.get(item);
      if (ref?.kind === "scenario" && ref.uri === uri && !keep.has(ref.scenario)) {
        this.scenarios.delete(id);
        this.stepEntries.delete(id);
      }
    }
  }

  ref(item: vscode.TestItem): Ref | undefined {
    return this.refs.get(item);
  }

  file(uri: string): vscode.TestItem | undefined {
    return this.files.get(uri);
  }

  fileUris(): string[] {
    return [...this.files.keys()];
  }

  scenario(uri: string, name: string): vscode.TestItem | undefined {
    return this.scenarios.get(scenarioId(uri, name));
  }

  /** A file's scenario names, in file order. */
  scenarioNames(uri: string): string[] {
    const names: string[] = [];
    this.files.get(uri)?.children.forEach((item) => {
      const ref = this.refs.get(item);
      if (ref?.kind === "scenario") {
        names.push(ref.scenario);
      }
    });
    return names;
  }

  /** A scenario's step items with their entries, in order. */
  steps(uri: string, name: string): { item: vscode.TestItem; entry: StepEntry }[] {
    const item = this.scenario(uri, name);
    const entries = this.stepEntries.get(scenarioId(uri, name)) ?? [];
    const out: { item: vscode.TestItem; entry: StepEntry }[] = [];
    entries.forEach((entry, index) => {
      const step = item?.children.get(stepId(uri, name, index));
      if (step !== undefined) {
        out.push({ item: step, entry });
      }
    });
    return out;
  }
}
