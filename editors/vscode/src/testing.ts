// Scenarios in VS Code's Test Explorer (and gutter icons): the TestController wiring.
// Items come from the server's `clnrm/scenarios`, runs go through the same
// `workspace/executeCommand` queue as the lenses, and results stream in from
// `clnrm/runResult`. The logic lives in testTree.ts, runResults.ts and runTracker.ts.
// VS Code and the language client are passed in (TestingHost, ServerConnection), so node's
// test runner drives this with a fake editor and the real server.

import type * as vscode from "vscode";

import { failureNotice, failureReason } from "./replies";
import { parseRunResult } from "./runResults";
import { command, ExplorerRun, planBatches, queuedCount, RunTracker } from "./runTracker";
import { Api, CONTROLLER_ID, FileEntry, parseScenarios, TestTree } from "./testTree";

export { SHOW_TRACE_DIFF_COMMAND } from "./testTree";

/** What the Test Explorer needs of VS Code. */
export interface TestingHost {
  api: Api & Pick<typeof vscode, "TestRunProfileKind">;
  createTestController(id: string, label: string): vscode.TestController;
  showError(message: string): void;
  showWarning(message: string): void;
  isTrusted(): boolean;
  /** A file item's label (VS Code: the workspace-relative path). */
  fileLabel(uri: string): string;
}

/** What it needs of the language client. */
export interface ServerConnection {
  sendRequest(method: string, params: unknown): Promise<unknown>;
  onNotification(method: string, handler: (params: unknown) => void): { dispose(): void };
  log(line: string): void;
}

export class Testing implements vscode.Disposable {
  private readonly controller: vscode.TestController;
  private readonly tree: TestTree;
  private readonly tracker: RunTracker;
  private client: ServerConnection | undefined;
  private listeners: { dispose(): void }[] = [];
  /** Per-uri `clnrm/scenarios` requests: one in flight, at most one more queued. */
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private untrustedNoticeShown = false;
  /** Numbers `clnrm/scenarios` requests in the order they are sent. */
  private asked = 0;

  constructor(
    private readonly host: TestingHost,
    /** Continuous running turned on or off: the server's run-on-save follows. */
    onContinuousChange: () => void,
    private readonly showTraceDiff: (uri: string, scenario: string) => Promise<void>,
  ) {
    this.controller = host.createTestController(CONTROLLER_ID, "Cleanroom (clnrm)");
    this.tree = new TestTree(host.api, this.controller, host.fileLabel);
    this.tracker = new RunTracker(host.api, this.tree, (uri, session) => this.externalRun(uri, session?.request), onContinuousChange);
    this.controller.refreshHandler = () => this.discoverAll();
    // One profile: the default Run, which is also the continuous run (= run on save).
    this.controller.createRunProfile("Run", host.api.TestRunProfileKind.Run, (request, token) => this.run(request, token), true, undefined, true);
  }

  /** Continuous running is on for some items: saves must run even if runOnSave is off. */
  continuousActive(): boolean {
    return this.tracker.continuousActive();
  }

  /** A (re)started server: listen to it and discover the workspace's scenarios. */
  async attach(client: ServerConnection): Promise<void> {
    this.detach();
    this.client = client;
    this.listeners = [
      client.onNotification("clnrm/scenariosChanged", (params: unknown) => {
        const uri = (params as { uri?: unknown } | null)?.uri;
        if (typeof uri === "string") {
          void this.discoverFile(uri);
        }
      }),
      client.onNotification("clnrm/runResult", (params: unknown) => {
        const r = parseRunResult(params);
        if (r !== undefined && !this.tracker.route(r).known) {
          void this.discoverFile(r.uri);
        }
      }),
    ];
    await this.discoverAll();
  }

  /**
   * The language client restarted the server on its own (after a crash): runs of the old
   * process end, and the tree is asked for again.
   */
  serverStopped(): void {
    this.tracker.reset();
  }
  async serverRestarted(): Promise<void> {
    await this.discoverAll();
  }

  /** The server stopped: open runs end (what had no verdict is skipped). */
  detach(): void {
    for (const l of this.listeners) {
      l.dispose();
    }
    this.listeners = [];
    this.client = undefined;
    this.tracker.reset();
  }

  dispose(): void {
    this.detach();
    this.controller.dispose();
  }

  /** "Show Trace Diff" from a test item (its context menu) or a failure message. */
  async showTraceDiffFor(arg: unknown): Promise<void> {
    const item = isTestItem(arg) ? arg : isTestItem((arg as { test?: unknown } | null)?.test) ? (arg as { test: vscode.TestItem }).test : undefined;
    const ref = item === undefined ? undefined : this.tree.ref(item);
    if (ref === undefined || ref.kind === "file") {
      this.host.showWarning("clnrm: pick a scenario to show its trace diff");
      return;
    }
    await this.showTraceDiff(ref.uri, ref.scenario);
  }

  private async discoverAll(): Promise<void> {
    const client = this.client;
    if (client === undefined) {
      return;
    }
    const asOf = ++this.asked;
    try {
      const files = parseScenarios(await client.sendRequest("clnrm/scenarios", {}));
      if (files !== undefined && client === this.client) {
        this.tree.replaceAll(files, asOf);
      }
    } catch (e) {
      client.log(`clnrm/scenarios failed: ${failureReason(e)}`);
    }
  }

  private async discoverFile(uri: string): Promise<void> {
    if (this.inFlight.has(uri)) {
      this.again.add(uri);
      return;
    }
    this.inFlight.add(uri);
    try {
      do {
        this.again.delete(uri);
        const client = this.client;
        if (client === undefined) {
          return;
        }
        let files: FileEntry[] | undefined;
        const asOf = ++this.asked;
        try {
          files = parseScenarios(await client.sendRequest("clnrm/scenarios", { uri }));
        } catch (e) {
          client.log(`clnrm/scenarios ${uri} failed: ${failureReason(e)}`);
        }
        if (files !== undefined && client === this.client) {
          if (files.length === 0) {
            this.tree.updateFile(uri, undefined, asOf);
          }
          for (const f of files) {
            this.tree.updateFile(f.uri, f, asOf);
          }
        }
      } while (this.again.has(uri));
    } finally {
      this.inFlight.delete(uri);
    }
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    if (request.continuous) {
      return this.runContinuously(request, token);
    }
    const run = this.controller.createTestRun(request);
    const er = this.tracker.begin(run, planBatches(this.tree, request.include, request.exclude));
    const cancelled = token.onCancellationRequested(() => this.tracker.cancel(er));
    try {
      for (let i = 0; i < er.batches.length && !token.isCancellationRequested; i++) {
        await this.send(er, i);
      }
      await er.done;
    } finally {
      cancelled.dispose();
    }
  }

  /** Send one batch's command; a refusal errors its items and is shown once per run. */
  private async send(er: ExplorerRun, index: number): Promise<void> {
    const client = this.client;
    if (client === undefined) {
      this.tracker.refused(er, index, "the clnrm-lsp server is not running");
      return;
    }
    try {
      const answer = await client.sendRequest("workspace/executeCommand", command(er.batches[index]));
      this.tracker.planned(er, index, queuedCount(answer, er.asked(index)));
    } catch (e) {
      if (!er.noticeShown) {
        er.noticeShown = true;
        this.host.showError(failureNotice(e));
      }
      this.tracker.refused(er, index, failureReason(e));
    }
  }

  /**
   * The continuous profile is run-on-save: while it is on, the server runs saved files
   * (even with `clnrm.runOnSave` off) and their results come in runs made with this
   * request. It ends when VS Code cancels it.
   */
  private async runContinuously(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    if (!this.host.isTrusted() && !this.untrustedNoticeShown) {
      this.untrustedNoticeShown = true;
      this.host.showError("clnrm: the workspace is not trusted: clnrm runs nothing in it (saves will not run scenarios)");
    }
    const session = this.tracker.startContinuous(request);
    await new Promise<void>((resolve) => {
      if (token.isCancellationRequested) {
        resolve();
      } else {
        token.onCancellationRequested(() => resolve());
      }
    });
    this.tracker.stopContinuous(session);
  }

  /**
   * A run for results started elsewhere: a save, a lens click, the palette. Its request is
   * marked continuous (these are the editor's automatic runs), so VS Code does not pop the
   * failure peek over the file at every save of a failing scenario.
   */
  private externalRun(uri: string, continuous: vscode.TestRunRequest | undefined): vscode.TestRun {
    if (continuous !== undefined) {
      return this.controller.createTestRun(continuous, "clnrm: run on save", true);
    }
    const file = this.tree.file(uri);
    const request = new this.host.api.TestRunRequest(file === undefined ? undefined : [file], undefined, undefined, true);
    return this.controller.createTestRun(request, "clnrm: run from the editor", true);
  }
}

function isTestItem(v: unknown): v is vscode.TestItem {
  return typeof v === "object" && v !== null && typeof (v as { id?: unknown }).id === "string" && "children" in v;
}
