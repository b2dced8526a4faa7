// Finding the clnrm-lsp executable. Pure apart from file-system probes, which are injected
// so the search order is unit-tested without touching the real PATH.

import * as path from "path";

export interface PathProbe {
  /** True when `file` exists and is a regular file the user may execute. */
  isExecutable(file: string): boolean;
}

export interface ResolveInput {
  /** `clnrm.server.path`; empty or undefined means "search". */
  configured: string | undefined;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  homeDir: string;
  /** First workspace folder, for relative configured paths and `${workspaceFolder}`. */
  workspaceFolder: string | undefined;
}

export type Resolution =
  | { ok: true; command: string; searched: string[] }
  | { ok: false; searched: string[]; reason: string };

export const SERVER_NAME = "clnrm-lsp";

function expand(configured: string, input: ResolveInput, pathApi: path.PlatformPath): string {
  let value = configured.trim();
  if (value === "~" || value.startsWith("~/") || value.startsWith("~\\")) {
    value = pathApi.join(input.homeDir, value.slice(1));
  }
  if (input.workspaceFolder !== undefined) {
    value = value.split("${workspaceFolder}").join(input.workspaceFolder);
  }
  if (!pathApi.isAbsolute(value) && input.workspaceFolder !== undefined && /[\\/]/.test(value)) {
    value = pathApi.join(input.workspaceFolder, value);
  }
  return value;
}

function executableNames(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform !== "win32") {
    return [SERVER_NAME];
  }
  const exts = (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").filter((e) => e !== "");
  return exts.map((e) => SERVER_NAME + e.toLowerCase());
}

/**
 * Where the server is, in this order: the configured path (as given, `~` and
 * `${workspaceFolder}` expanded; a bare name is looked up on PATH), then `clnrm-lsp` on
 * PATH, then `~/.cargo/bin` (where `cargo install` puts it, often missing from the PATH
 * that a GUI-launched VS Code inherits).
 */
export function resolveServer(input: ResolveInput, probe: PathProbe): Resolution {
  // "Looked in" lists each place once, in search order: PATH often repeats a directory
  // (and ~/.cargo/bin is usually on it too), and a repeat is never worth probing again.
  const searched: string[] = [];
  const look = (file: string): boolean => {
    if (searched.includes(file)) {
      return false;
    }
    searched.push(file);
    return probe.isExecutable(file);
  };
  const pathApi = input.platform === "win32" ? path.win32 : path.posix;
  const sep = input.platform === "win32" ? ";" : ":";
  const pathDirs = (input.env.PATH ?? input.env.Path ?? "").split(sep).filter((d) => d !== "");

  const configured = input.configured?.trim() ?? "";
  if (configured !== "") {
    const candidate = expand(configured, input, pathApi);
    if (pathApi.isAbsolute(candidate)) {
      return look(candidate)
        ? { ok: true, command: candidate, searched }
        : { ok: false, searched, reason: `clnrm.server.path points to ${candidate}, which is not an executable file` };
    }
    for (const dir of pathDirs) {
      const file = pathApi.join(dir, candidate);
      if (look(file)) {
        return { ok: true, command: file, searched };
      }
    }
    return { ok: false, searched, reason: `clnrm.server.path is "${configured}", which is not on PATH` };
  }

  const dirs = [...pathDirs, pathApi.join(input.homeDir, ".cargo", "bin")];
  if (input.env.CARGO_HOME !== undefined && input.env.CARGO_HOME !== "") {
    dirs.push(pathApi.join(input.env.CARGO_HOME, "bin"));
  }
  for (const dir of dirs) {
    for (const name of executableNames(input.platform, input.env)) {
      const file = pathApi.join(dir, name);
      if (look(file)) {
        return { ok: true, command: file, searched };
      }
    }
  }
  return { ok: false, searched, reason: `${SERVER_NAME} was not found on PATH or in ~/.cargo/bin` };
}
