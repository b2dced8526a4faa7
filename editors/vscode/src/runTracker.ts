// Which TestRun shows each `clnrm/runResult`. The server reports every run batch the same
// way, whoever started it, so results are routed: to the explorer run waiting for that
// scenario, else to a run made for them (a save or a lens click; a continuous run's
// request while one is on). Runs end when their scenarios have verdicts. Pure bookkeeping
// over the TestRun interface: only types come from `vscode`.

import type * as vscode from "vscode";

import { applyResult, isVerdict, RunResult } from "./runResults";
import { Api, Ref, scenarioId, TestTree } from "./testTree";

/** One `workspace/executeCommand`: a whole file (`clnrm.runFile`) or one scenario. */
export interface Batch {
  uri: string;
  scenario: string | undefined;
}

export function command(b: Batch): { command: string; arguments: unknown[] } {
  return b.scenario === undefined
    ? { command: "clnrm.runFile", arguments: [b.uri] }
    : { command: "clnrm.runScenario", arguments: [b.uri, b.scenario] };
}

/**
 * How many scenarios the server queued for a batch: its answer `{ "scenarios": n }`; an
 * answer without the count is taken as "all asked".
 */
export function queuedCount(answer: unknown, asked: number): number {
  const n = typeof answer === "object" && answer !== null ? (answer as { scenarios?: unknown }).scenarios : undefined;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : asked;
}

/**
 * The commands for an explorer request: a file with all its scenarios included is one
 * `runFile`, else one `runScenario` per scenario. Steps run as their scenario (the runner
 * runs scenarios); an excluded step is ignored for the same reason.
 */
export function planBatches(tree: TestTree, include: readonly vscode.TestItem[] | undefined, exclude: readonly vscode.TestItem[] | undefined): Batch[] {
  const excludedFiles = new Set<string>();
  const excluded = new Set<string>();
  for (const item of exclude ?? []) {
    const ref = tree.ref(item);
    if (ref?.kind === "file") {
      excludedFiles.add(ref.uri);
    } else if (ref?.kind === "scenario") {
      excluded.add(scenarioId(ref.uri, ref.scenario));
    }
  }
  // uri → "all" or the chosen scenario names, in first-seen order.
  const wanted = new Map<string, "all" | Set<string>>();
  const want = (uri: string, scenario: string | undefined) => {
    if (excludedFiles.has(uri)) {
      return;
    }
    const now = wanted.get(uri);
    if (scenario === undefined) {
      wanted.set(uri, "all");
    } else if (now === undefined) {
      wanted.set(uri, new Set([scenario]));
    } else if (now !== "all") {
      now.add(scenario);
    }
  };
  const refs: Ref[] = include === undefined
    ? tree.fileUris().map((uri) => ({ kind: "file", uri }))
    : include.map((i) => tree.ref(i)).filter((r): r is Ref => r !== undefined);
  for (const ref of refs) {
    want(ref.uri, ref.kind === "file" ? undefined : ref.scenario);
  }
  const batches: Batch[] = [];
  for (const [uri, chosen] of wanted) {
    const names = tree.scenarioNames(uri);
    const picked = chosen === "all" ? names : names.filter((n) => chosen.has(n));
    const kept = picked.filter((n) => !excluded.has(scenarioId(uri, n)));
    if (kept.length === 0) {
      continue;
    }
    if (chosen === "all" && kept.length === names.length) {
      batches.push({ uri, scenario: undefined });
    } else {
      batches.push(...kept.map((scenario) => ({ uri, scenario })));
    }
  }
  return batches;
}

interface OpenBatch extends Batch {
  /** Scenarios still waiting for a verdict in this run. */
  pending: Set<string>;
  /** How many scenarios were asked for. */
  asked: number;
  /** Scenarios the server reported queued or running here (so it has them in flight). */
  seen: Set<string>;
  /** How many scenarios the server queued (its answer), once known. */
  planned: number | undefined;
  verdicts: number;
  closed: boolean;
}

/** A run started from the Test Explorer, waiting for its batches' verdicts. */
export class ExplorerRun {
  readonly batches: OpenBatch[];
  readonly done: Promise<void>;
  private resolve: () => void = () => undefined;
  ended = false;
  /** The refusal notice is shown once per run, not once per command. */
  noticeShown = false;

  constructor(readonly run: vscode.TestRun, batches: readonly Batch[], tree: TestTree) {
    this.done = new Promise((r) => (this.resolve = r));
    this.batches = batches.map((b) => {
      const pending = new Set(b.scenario === undefined ? tree.scenarioNames(b.uri) : [b.scenario]);
      return { ...b, pending, asked: pending.size, seen: new Set<string>(), planned: undefined, verdicts: 0, closed: false };
    });
  }

  /** How many scenarios batch `index` asked for (a file: its scenarios in the tree). */
  asked(index: number): number {
    return this.batches[index]?.asked ?? 0;
  }

  end(): void {
    if (!this.ended) {
      this.ended = true;
      this.run.end();
      this.resolve();
    }
  }
}

/** An active continuous run (the run-on-save profile turned on in the explorer). */
export interface ContinuousSession {
  request: vscode.TestRunRequest;
}

/** Makes the run for results nobody in the explorer waits for. */
export type ExternalRunFactory = (uri: string, continuous: ContinuousSession | undefined) => vscode.TestRun;

export interface RouteOutcome {
  /** The result's scenario has an item (false: the tree is behind; refresh the file). */
  known: boolean;
}

export class RunTracker {
  private readonly explorer: ExplorerRun[] = [];
  private readonly external = new Map<string, { run: vscode.TestRun; pending: Set<string> }>();
  private readonly continuous: ContinuousSession[] = [];
  /** Scenarios of cancelled explorer runs still in flight: their late results are dropped. */
  private readonly dropped = new Set<string>();

  constructor(
    private readonly api: Api,
    private readonly tree: TestTree,
    private readonly makeExternal: ExternalRunFactory,
    /** Called when continuous running turns on or off (the server's run-on-save follows). */
    private readonly onContinuousChange: () => void = () => undefined,
  ) {}

  /** Start an explorer run: its scenarios are enqueued until the server reports them. */
  begin(run: vscode.TestRun, batches: readonly Batch[]): ExplorerRun {
    const er = new ExplorerRun(run, batches, this.tree);
    for (const b of er.batches) {
      for (const name of b.pending) {
        const item = this.tree.scenario(b.uri, name);
        if (item !== undefined) {
          run.enqueued(item);
        }
      }
    }
    this.explorer.push(er);
    this.settle(er);
    return er;
  }

  /** The server's answer to a batch's command: how many scenarios it queued. */
  planned(er: ExplorerRun, index: number, count: number): void {
    const b = er.batches[index];
    if (b === undefined || b.closed) {
      return;
    }
    b.planned = count;
    this.check(er, b);
  }

  /** The server refused a batch (untrusted workspace, a file with errors): its items error. */
  refused(er: ExplorerRun, index: number, reason: string): void {
    const b = er.batches[index];
    if (b === undefined || b.closed) {
      return;
    }
    for (const name of b.pending) {
      const item = this.tree.scenario(b.uri, name);
      if (item !== undefined) {
        const m = new this.api.TestMessage(reason);
        if (item.uri !== undefined && item.range !== undefined) {
          m.location = new this.api.Location(item.uri, item.range);
        }
        er.run.errored(item, m);
      }
    }
    b.pending.clear();
    this.close(er, b);
  }

  /** The user cancelled: what has no verdict yet is skipped, and the run ends now. */
  cancel(er: ExplorerRun): void {
    for (const b of er.batches) {
      if (b.closed) {
        continue;
      }
      for (const name of b.pending) {
        const item = this.tree.scenario(b.uri, name);
        if (item !== undefined) {
          er.run.skipped(item);
        }
        if (b.seen.has(name)) {
          this.dropped.add(scenarioId(b.uri, name));
        }
      }
      b.pending.clear();
      b.closed = true;
    }
    this.settle(er);
  }

  /** End every open run (the server stopped): pending scenarios are skipped. */
  reset(): void {
    for (const er of [...this.explorer]) {
      this.cancel(er);
    }
    for (const ext of this.external.values()) {
      ext.run.end();
    }
    this.external.clear();
    this.dropped.clear();
  }

  startContinuous(request: vscode.TestRunRequest): ContinuousSession {
    const s = { request };
    this.continuous.push(s);
    if (this.continuous.length === 1) {
      this.onContinuousChange();
    }
    return s;
  }

  stopContinuous(s: ContinuousSession): void {
    const i = this.continuous.indexOf(s);
    if (i >= 0) {
      this.continuous.splice(i, 1);
      if (this.continuous.length === 0) {
        this.onContinuousChange();
      }
    }
  }

  continuousActive(): boolean {
    return this.continuous.length > 0;
  }

  /** Show one `clnrm/runResult` in the run it belongs to. */
  route(r: RunResult): RouteOutcome {
    const key = scenarioId(r.uri, r.scenario);
    const verdict = isVerdict(r.state);
    if (this.dropped.has(key)) {
      if (verdict) {
        this.dropped.delete(key);
      }
      return { known: this.tree.scenario(r.uri, r.scenario) !== undefined };
    }
    for (const er of this.explorer) {
      const b = er.batches.find((x) => !x.closed && x.uri === r.uri && (x.scenario === undefined || x.scenario === r.scenario));
      if (b === undefined) {
        continue;
      }
      const known = applyResult(this.api, this.tree, er.run, r);
      if (verdict) {
        b.pending.delete(r.scenario);
        b.seen.delete(r.scenario);
        b.verdicts += 1;
        this.check(er, b);
      } else {
        b.seen.add(r.scenario);
      }
      return { known };
    }
    let ext = this.external.get(r.uri);
    if (ext === undefined) {
      const session = this.continuous.find((s) => this.inScope(s.request, r.uri, r.scenario));
      ext = { run: this.makeExternal(r.uri, session), pending: new Set() };
      this.external.set(r.uri, ext);
    }
    const known = applyResult(this.api, this.tree, ext.run, r);
    if (verdict) {
      ext.pending.delete(r.scenario);
    } else {
      ext.pending.add(r.scenario);
    }
    if (ext.pending.size === 0) {
      ext.run.end();
      this.external.delete(r.uri);
    }
    return { known };
  }

  private inScope(request: vscode.TestRunRequest, uri: string, scenario: string): boolean {
    const hits = (items: readonly vscode.TestItem[] | undefined) =>
      (items ?? []).some((i) => {
        const ref = this.tree.ref(i);
        return ref !== undefined && ref.uri === uri && (ref.kind === "file" || ref.scenario === scenario);
      });
    if (hits(request.exclude)) {
      return false;
    }
    return request.include === undefined || hits(request.include);
  }

  /** Close a batch when the server has answered and every queued scenario has a verdict. */
  private check(er: ExplorerRun, b: OpenBatch): void {
    if (b.planned === undefined) {
      return;
    }
    const complete = b.scenario === undefined ? b.verdicts >= b.planned : b.pending.size === 0 || b.planned === 0;
    if (!complete) {
      return;
    }
    for (const name of b.pending) {
      // Not queued by the server (renamed or gone since the tree was built).
      const item = this.tree.scenario(b.uri, name);
      if (item !== undefined) {
        er.run.appendOutput(`- ${name}: not run (the server did not queue it)\r\n`, undefined, item);
        er.run.skipped(item);
      }
    }
    b.pending.clear();
    this.close(er, b);
  }

  private close(er: ExplorerRun, b: OpenBatch): void {
    b.closed = true;
    this.settle(er);
  }

  private settle(er: ExplorerRun): void {
    if (er.batches.every((b) => b.closed)) {
      er.end();
      const i = this.explorer.indexOf(er);
      if (i >= 0) {
        this.explorer.splice(i, 1);
      }
    }
  }
}
