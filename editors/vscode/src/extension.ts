// The VS Code face of clnrm-lsp: start the server, pass settings and workspace trust,
// expose the server's commands. Logic that can be tested without VS Code lives in
// settings.ts, serverPath.ts and scenarios.ts; the Test Explorer is testing.ts.

import * as fs from "fs";
import * as os from "os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";

import { failureNotice, panelKey, traceDiffArgs, traceDiffPage } from "./replies";
import { scenarioAt } from "./scenarios";
import { resolveServer } from "./serverPath";
import { configurationItem, explicitValue, launchSettings, serverEnv, toServerSettings, withContinuousRun, ServerSettings } from "./settings";
import { SHOW_TRACE_DIFF_COMMAND, Testing } from "./testing";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let testing: Testing | undefined;
/** Open trace-diff webviews by panelKey(uri, scenario): one per scenario, reused. */
const traceDiffPanels = new Map<string, vscode.WebviewPanel>();

function settings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("clnrm");
  return withContinuousRun(toServerSettings((key) => explicitValue(config.inspect(key)), vscode.workspace.isTrusted), testing?.continuousActive() ?? false);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration("clnrm");
  const launch = launchSettings((key) => config.get(key));
  const resolution = resolveServer(
    {
      configured: launch.path,
      env: process.env,
      platform: process.platform,
      homeDir: os.homedir(),
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    },
    { isExecutable },
  );
  if (!resolution.ok) {
    output.appendLine(`${resolution.reason}. Looked in:\n  ${resolution.searched.join("\n  ")}`);
    void vscode.window.showErrorMessage(`clnrm: ${resolution.reason}. Install it with \`cargo install --path server\` or set clnrm.server.path.`);
    return;
  }
  const current = settings();
  const serverOptions: ServerOptions = {
    command: resolution.command,
    args: [...launch.extraArgs, "--stdio"],
    options: { env: serverEnv(process.env, current.logLevel) },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "clnrm" },
      { scheme: "untitled", language: "clnrm" },
    ],
    initializationOptions: current,
    outputChannel: output,
    // Failures are shown once, by us, with the server's reason (see failureNotice); the
    // client's own "Request workspace/executeCommand failed." would be a second popup.
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{tera,clnrm.toml}"),
    },
    middleware: {
      // Lens clicks arrive here: the trace diff opens as a webview, refusals show once.
      executeCommand: async (command, args, next) => {
        const diff = command === "clnrm.showTraceDiff" ? traceDiffArgs(args) : undefined;
        if (diff) {
          await showTraceDiff(diff.uri, diff.scenario);
          return undefined;
        }
        try {
          return await next(command, args);
        } catch (e) {
          void vscode.window.showErrorMessage(failureNotice(e));
          return undefined;
        }
      },
      workspace: {
        configuration: (params) => params.items.map((item) => configurationItem(item.section, settings())),
      },
    },
  };
  client = new LanguageClient("clnrm", "Cleanroom (clnrm)", serverOptions, clientOptions);
  await client.start();
  const started = client;
  started.onDidChangeState((e) => {
    if (e.newState === State.Stopped) {
      testing?.serverStopped();
    } else if (e.newState === State.Running) {
      void testing?.serverRestarted();
    }
  });
  await testing?.attach({
    sendRequest: (method, params) => started.sendRequest(method, params),
    onNotification: (method, handler) => started.onNotification(method, handler),
    log: (line) => output.appendLine(line),
  });
}

/** Show the trace diff of one scenario in its webview (reused when already open). */
async function showTraceDiff(uri: string, scenario: string): Promise<void> {
  if (!client) {
    return;
  }
  let page;
  try {
    page = traceDiffPage(await client.sendRequest("clnrm/traceDiff", { uri, scenario }));
  } catch (e) {
    void vscode.window.showErrorMessage(failureNotice(e));
    return;
  }
  if (!page) {
    void vscode.window.showErrorMessage(failureNotice("the server sent no trace diff page"));
    return;
  }
  const key = panelKey(uri, scenario);
  let panel = traceDiffPanels.get(key);
  if (panel) {
    panel.reveal(undefined, true);
  } else {
    // The page is self-contained (its own CSP allows only inline style and script), so
    // the webview needs scripts but may load no local files.
    panel = vscode.window.createWebviewPanel(
      "clnrm.traceDiff",
      page.title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [] },
    );
    const created = panel;
    traceDiffPanels.set(key, created);
    created.onDidDispose(() => {
      if (traceDiffPanels.get(key) === created) {
        traceDiffPanels.delete(key);
      }
    });
  }
  panel.title = page.title;
  panel.webview.html = page.html;
}

/** Send one of the server's commands for the active editor (and its scenario at the cursor). */
async function serverCommand(command: string, withScenario: boolean): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!client || !editor || editor.document.languageId !== "clnrm") {
    void vscode.window.showWarningMessage("clnrm: open a .clnrm.toml file first");
    return;
  }
  const args: unknown[] = [editor.document.uri.toString()];
  if (withScenario) {
    const lines = editor.document.getText().split(/\r?\n/);
    const block = scenarioAt(lines, editor.selection.active.line);
    if (!block?.name) {
      void vscode.window.showWarningMessage("clnrm: the cursor is not inside a [[scenario]] with a name");
      return;
    }
    args.push(block.name);
  }
  if (command === "clnrm.showTraceDiff" && typeof args[1] === "string") {
    await showTraceDiff(args[0] as string, args[1]);
    return;
  }
  try {
    const result = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    if (typeof result === "string" && result !== "") {
      const doc = await vscode.workspace.openTextDocument({ content: result, language: "markdown" });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }
  } catch (e) {
    void vscode.window.showErrorMessage(failureNotice(e));
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Cleanroom (clnrm)");
  const register = (id: string, fn: (arg: unknown) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register("clnrm.palette.runScenario", () => serverCommand("clnrm.runScenario", true));
  register("clnrm.palette.runFile", () => serverCommand("clnrm.runFile", false));
  register("clnrm.palette.showTraceDiff", () => serverCommand("clnrm.showTraceDiff", true));
  register("clnrm.palette.updateBaseline", () => serverCommand("clnrm.updateBaseline", true));
  register("clnrm.palette.cacheStats", async () => {
    if (!client) {
      return;
    }
    const stats = await client.sendRequest<Record<string, number>>("clnrm/cacheStats");
    void vscode.window.showInformationMessage(
      `clnrm analysis cache: ${stats.hits} hits, ${stats.misses} misses, ${stats.entries} entries (${stats.bytes} bytes)`,
    );
  });
  register("clnrm.palette.restartServer", async () => {
    testing?.detach();
    await client?.stop();
    client = undefined;
    await start();
  });
  register("clnrm.palette.showLogs", () => output.show(true));

  // Settings and trust changes reach the server as a configuration change.
  const notify = () => client?.sendNotification("workspace/didChangeConfiguration", { settings: { clnrm: settings() } });
  testing = new Testing(
    {
      api: vscode,
      createTestController: (id, label) => vscode.tests.createTestController(id, label),
      showError: (message) => void vscode.window.showErrorMessage(message),
      showWarning: (message) => void vscode.window.showWarningMessage(message),
      isTrusted: () => vscode.workspace.isTrusted,
      // The folder name only when there are several (VS Code's own default for this argument).
      fileLabel: (uri) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri)),
    },
    () => void notify(),
    showTraceDiff,
  );
  context.subscriptions.push(testing);
  register(SHOW_TRACE_DIFF_COMMAND, (arg: unknown) => testing?.showTraceDiffFor(arg));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("clnrm.server") || e.affectsConfiguration("clnrm.logLevel")) {
        void vscode.commands.executeCommand("clnrm.palette.restartServer");
      } else if (e.affectsConfiguration("clnrm")) {
        void notify();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void notify()),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
