// What the server receives as its settings, built from VS Code's `clnrm.*` configuration.
// Pure: no `vscode` import, so it is unit-tested with plain node.

export type Backend = "auto" | "local" | "docker" | "podman";
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

/** The `clnrm` section the server reads (initializationOptions and workspace/configuration). */
export interface ServerSettings {
  runOnSave: boolean;
  /** Only what the user set: an absent field leaves the workspace's `.clnrm/config.toml` in charge. */
  executor: { workers?: number; backend?: Backend };
  trusted: boolean;
  logLevel: LogLevel;
}

/**
 * Reads one `clnrm.<key>` value the user set, `undefined` when only the default applies
 * ({@link explicitValue} over `vscode.WorkspaceConfiguration.inspect`).
 */
export type ConfigReader = (key: string) => unknown;

/** What `WorkspaceConfiguration.inspect` reports for one key (the fields used here). */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * The value the user set (folder over workspace over user/machine), not the manifest's
 * default: the server lets client settings win over the workspace's config file, so a
 * default sent as if chosen (`backend: "auto"`) would override `backend = "local"` there.
 */
export function explicitValue(inspected: Inspected | undefined): unknown {
  return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
}

const BACKENDS: readonly Backend[] = ["auto", "local", "docker", "podman"];
const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug", "trace"];

export const DEFAULT_SETTINGS: ServerSettings = {
  runOnSave: true,
  executor: {},
  trusted: false,
  logLevel: "info",
};

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === "string" && (allowed as readonly string[]).includes(value)
    ? (value as T)
    : fallback;
}

function workers(value: unknown): number | undefined {
  // Settings JSON can hold anything; the server must never see a negative or fractional count.
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    return undefined;
  }
  return Math.min(Math.floor(value), 64);
}

/** The executor fields the user set (valid ones only); the rest stay the config file's. */
function executor(read: ConfigReader): ServerSettings["executor"] {
  const out: ServerSettings["executor"] = {};
  const w = workers(read("executor.workers"));
  if (w !== undefined) {
    out.workers = w;
  }
  const backend = read("executor.backend");
  if (typeof backend === "string" && (BACKENDS as readonly string[]).includes(backend)) {
    out.backend = backend as Backend;
  }
  return out;
}

/**
 * Map the user's configuration to the server's settings. `trusted` comes from workspace
 * trust, never from a setting: a workspace must not be able to mark itself trusted.
 * In a restricted workspace runOnSave is forced off as well, so the server cannot run
 * anything even if it ignored `trusted`.
 */
export function toServerSettings(read: ConfigReader, trusted: boolean): ServerSettings {
  const runOnSave = read("runOnSave");
  return {
    runOnSave: trusted && (typeof runOnSave === "boolean" ? runOnSave : DEFAULT_SETTINGS.runOnSave),
    executor: executor(read),
    trusted,
    logLevel: oneOf(read("logLevel"), LOG_LEVELS, DEFAULT_SETTINGS.logLevel),
  };
}

/**
 * The continuous run of the Test Explorer is run-on-save: while it is on, saves run even
 * when `clnrm.runOnSave` is off. Never in a restricted workspace.
 */
export function withContinuousRun(settings: ServerSettings, continuous: boolean): ServerSettings {
  return { ...settings, runOnSave: settings.trusted && (settings.runOnSave || continuous) };
}

/**
 * Answer a workspace/configuration item. The server asks for section `clnrm`; sub-sections
 * (`clnrm.executor`) are answered too, anything else gets `null` as the protocol expects.
 */
export function configurationItem(section: string | undefined, settings: ServerSettings): unknown {
  if (section === undefined || section === "") {
    return { clnrm: settings };
  }
  const path = section.split(".");
  if (path[0] !== "clnrm") {
    return null;
  }
  let node: unknown = settings;
  for (const part of path.slice(1)) {
    if (node === null || typeof node !== "object" || !(part in node)) {
      return null;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The environment the server process starts with: the log filter it reads at startup. */
export function serverEnv(base: NodeJS.ProcessEnv, logLevel: LogLevel): NodeJS.ProcessEnv {
  // An explicit CLNRM_LSP_LOG (e.g. `clnrm_lsp::runs=trace`) wins over the coarse setting.
  if (base.CLNRM_LSP_LOG !== undefined && base.CLNRM_LSP_LOG !== "") {
    return { ...base };
  }
  return { ...base, CLNRM_LSP_LOG: logLevel };
}

/** How the server is started: `clnrm.server.path` and `clnrm.server.extraArgs`. */
export interface LaunchSettings {
  path: string | undefined;
  extraArgs: string[];
}

/**
 * The launch settings, the same in trusted and restricted workspaces. Both keys are in
 * package.json's `restrictedConfigurations`, so in Restricted Mode VS Code already hands
 * us only the user's own (User/Machine) values and drops the workspace's; ignoring them
 * here as well would leave a user whose binary is off PATH with no server at all.
 */
export function launchSettings(read: ConfigReader): LaunchSettings {
  const path = read("server.path");
  const args = read("server.extraArgs");
  return {
    path: typeof path === "string" && path.trim() !== "" ? path : undefined,
    extraArgs: Array.isArray(args) ? args.filter((a): a is string => typeof a === "string") : [],
  };
}
