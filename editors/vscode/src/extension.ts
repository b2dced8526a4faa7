// The VS Code face of clnrm-lsp: start the server, pass settings and workspace trust,
// expose the server's commands. Logic that can be tested without VS Code lives in
// settings.ts, serverPath.ts and scenarios.ts.

import * as fs from "fs";
import * as os from "os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

import { scenarioAt } from "./scenarios";
import { resolveServer } from "./serverPath";
import { configurationItem, serverEnv, toServerSettings, ServerSettings } from "./settings";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;

function settings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("clnrm");
  return toServerSettings((key) => config.get(key), vscode.workspace.isTrusted);
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
  // In a restricted workspace the path setting could point at anything: ignore it there.
  const configured = vscode.workspace.isTrusted ? config.get<string>("server.path") : undefined;
  const resolution = resolveServer(
    {
      configured,
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
  const extraArgs = vscode.workspace.isTrusted ? config.get<string[]>("server.extraArgs") ?? [] : [];
  const serverOptions: ServerOptions = {
    command: resolution.command,
    args: [...extraArgs, "--stdio"],
    options: { env: serverEnv(process.env, current.logLevel) },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "clnrm" },
      { scheme: "untitled", language: "clnrm" },
    ],
    initializationOptions: current,
    outputChannel: output,
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{tera,clnrm.toml}"),
    },
    middleware: {
      workspace: {
        configuration: (params) => params.items.map((item) => configurationItem(item.section, settings())),
      },
    },
  };
  client = new LanguageClient("clnrm", "Cleanroom (clnrm)", serverOptions, clientOptions);
  await client.start();
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
  try {
    const result = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    if (typeof result === "string" && result !== "") {
      const doc = await vscode.workspace.openTextDocument({ content: result, language: "markdown" });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }
  } catch (e) {
    void vscode.window.showErrorMessage(`clnrm: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Cleanroom (clnrm)");
  const register = (id: string, fn: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
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
    await client?.stop();
    client = undefined;
    await start();
  });
  register("clnrm.palette.showLogs", () => output.show(true));

  // Settings and trust changes reach the server as a configuration change.
  const notify = () => client?.sendNotification("workspace/didChangeConfiguration", { settings: { clnrm: settings() } });
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
