// A fake of the part of the `vscode` API the testing modules use: enough to build items
// and record what a TestRun was told, in plain node.

import type * as vscode from "vscode";

import type { TestingHost } from "../testing";
import type { Api, Controller } from "../testTree";

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(sl: number, sc: number, el: number, ec: number) {
    this.start = new Position(sl, sc);
    this.end = new Position(el, ec);
  }
}

export class Uri {
  private constructor(private readonly value: string) {}
  static parse(value: string): Uri {
    return new Uri(value);
  }
  toString(): string {
    return this.value;
  }
}

export class Location {
  constructor(readonly uri: Uri, readonly range: Range) {}
}

export class TestMessage {
  expectedOutput?: string;
  actualOutput?: string;
  location?: Location;
  contextValue?: string;
  constructor(public message: string) {}
  static diff(message: string, expected: string, actual: string): TestMessage {
    const m = new TestMessage(message);
    m.expectedOutput = expected;
    m.actualOutput = actual;
    return m;
  }
}

export class TestRunRequest {
  constructor(
    readonly include?: readonly FakeItem[],
    readonly exclude?: readonly FakeItem[],
    readonly profile?: unknown,
    readonly continuous?: boolean,
  ) {}
}

export class Collection {
  private readonly map = new Map<string, FakeItem>();
  get size(): number {
    return this.map.size;
  }
  add(item: FakeItem): void {
    this.map.set(item.id, item);
  }
  delete(id: string): void {
    this.map.delete(id);
  }
  get(id: string): FakeItem | undefined {
    return this.map.get(id);
  }
  replace(items: readonly FakeItem[]): void {
    this.map.clear();
    items.forEach((i) => this.add(i));
  }
  forEach(fn: (item: FakeItem) => void): void {
    this.map.forEach((i) => fn(i));
  }
  [Symbol.iterator](): Iterator<[string, FakeItem]> {
    return this.map[Symbol.iterator]();
  }
  ids(): string[] {
    return [...this.map.keys()];
  }
  all(): FakeItem[] {
    return [...this.map.values()];
  }
}

export class FakeItem {
  readonly children = new Collection();
  range: Range | undefined;
  description: string | undefined;
  constructor(readonly id: string, public label: string, readonly uri: Uri | undefined) {}
}

/** One call on a run: [method, item label, details]. */
export type Call = [string, string, ...unknown[]];

export class FakeRun {
  readonly calls: Call[] = [];
  readonly output: string[] = [];
  ended = 0;
  constructor(readonly request: TestRunRequest, readonly name: string | undefined) {}
  enqueued(t: FakeItem): void {
    this.calls.push(["enqueued", t.label]);
  }
  started(t: FakeItem): void {
    this.calls.push(["started", t.label]);
  }
  skipped(t: FakeItem): void {
    this.calls.push(["skipped", t.label]);
  }
  passed(t: FakeItem, duration?: number): void {
    this.calls.push(["passed", t.label, duration]);
  }
  failed(t: FakeItem, m: TestMessage | TestMessage[], duration?: number): void {
    this.calls.push(["failed", t.label, Array.isArray(m) ? m : [m], duration]);
  }
  errored(t: FakeItem, m: TestMessage | TestMessage[], duration?: number): void {
    this.calls.push(["errored", t.label, Array.isArray(m) ? m : [m], duration]);
  }
  appendOutput(text: string): void {
    this.output.push(text);
  }
  end(): void {
    this.ended += 1;
  }
  /** The calls as "method label" strings, for compact assertions. */
  summary(): string[] {
    return this.calls.map((c) => `${c[0]} ${c[1]}`);
  }
}

export interface FakeProfile {
  label: string;
  kind: number;
  runHandler: (request: TestRunRequest, token: FakeToken) => Promise<void> | void;
  isDefault: boolean | undefined;
  supportsContinuousRun: boolean | undefined;
}

export class FakeController {
  readonly items = new Collection();
  readonly runs: FakeRun[] = [];
  readonly profiles: FakeProfile[] = [];
  refreshHandler: (() => unknown) | undefined;
  disposed = false;
  constructor(readonly id = "fake", readonly label = "fake") {}
  createRunProfile(label: string, kind: number, runHandler: FakeProfile["runHandler"], isDefault?: boolean, _tag?: unknown, supportsContinuousRun?: boolean): FakeProfile {
    const p = { label, kind, runHandler, isDefault, supportsContinuousRun };
    this.profiles.push(p);
    return p;
  }
  dispose(): void {
    this.disposed = true;
  }
  createTestItem(id: string, label: string, uri?: Uri): FakeItem {
    return new FakeItem(id, label, uri);
  }
  createTestRun(request: TestRunRequest, name?: string): FakeRun {
    const run = new FakeRun(request, name);
    this.runs.push(run);
    return run;
  }
}

export const api = { Uri, Range, Location, TestMessage, TestRunRequest } as unknown as Api;

/** A cancellation token and its source in one. */
export class FakeToken {
  isCancellationRequested = false;
  private readonly listeners: (() => void)[] = [];
  onCancellationRequested(l: () => void): { dispose(): void } {
    this.listeners.push(l);
    return { dispose: () => undefined };
  }
  cancel(): void {
    this.isCancellationRequested = true;
    this.listeners.forEach((l) => l());
  }
}

/** A TestingHost over the fake: what it showed is recorded. */
export function host(trusted = true): { host: TestingHost; ctrl: () => FakeController; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  let made: FakeController | undefined;
  const h = {
    api: { ...(api as object), TestRunProfileKind: { Run: 1, Debug: 2, Coverage: 3 } },
    createTestController: (id: string, label: string) => (made = new FakeController(id, label)),
    showError: (m: string) => errors.push(m),
    showWarning: (m: string) => warnings.push(m),
    isTrusted: () => trusted,
    fileLabel: (uri: string) => uri.slice(uri.lastIndexOf("/") + 1),
  } as unknown as TestingHost;
  return {
    host: h,
    ctrl: () => {
      if (made === undefined) {
        throw new Error("no controller made");
      }
      return made;
    },
    errors,
    warnings,
  };
}

export function controller(): { fake: FakeController; ctrl: Controller } {
  const fake = new FakeController();
  return { fake, ctrl: fake as unknown as Controller };
}

/** The fake's objects seen through the `vscode` types the modules take. */
export function asItem(i: FakeItem | undefined): vscode.TestItem {
  return i as unknown as vscode.TestItem;
}
export function asRun(r: FakeRun): vscode.TestRun {
  return r as unknown as vscode.TestRun;
}
