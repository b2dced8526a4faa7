// Which scenario the cursor is in. Pure: works on lines of text and on plain lens records.

export interface ScenarioBlock {
  /** The `name` value as written; may contain Tera (`{{ svc }}-smoke`). */
  name: string | undefined;
  /** 0-based line of the `[[scenario]]` header. */
  startLine: number;
  /** 0-based last line that belongs to the scenario (before the next unrelated table). */
  endLine: number;
}

const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;
const NAME = /^\s*name\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*')\s*(#.*)?$/;

function tomlString(literal: string): string | undefined {
  if (literal.startsWith("'")) {
    return literal.slice(1, -1);
  }
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === "string" ? value : undefined;
  } catch {
    return literal.slice(1, -1);
  }
}

/** Every `[[scenario]]` block of a file, in order. Sub-tables (`[[scenario.steps]]`) stay inside. */
export function scenarioBlocks(lines: readonly string[]): ScenarioBlock[] {
  const blocks: ScenarioBlock[] = [];
  let current: ScenarioBlock | undefined;
  let inScenarioRoot = false;
  const close = (line: number): void => {
    if (current !== undefined) {
      current.endLine = line;
      blocks.push(current);
      current = undefined;
    }
  };
  lines.forEach((text, line) => {
    const header = HEADER.exec(text);
    if (header !== null) {
      const table = header[1].replace(/\s+/g, "");
      if (text.trim().startsWith("[[") && table === "scenario") {
        close(line - 1);
        current = { name: undefined, startLine: line, endLine: line };
        inScenarioRoot = true;
      } else if (current !== undefined && table.startsWith("scenario.")) {
        inScenarioRoot = false;
      } else {
        close(line - 1);
        inScenarioRoot = false;
      }
      return;
    }
    if (current !== undefined && inScenarioRoot && current.name === undefined) {
      const name = NAME.exec(text);
      if (name !== null) {
        current.name = tomlString(name[1]);
      }
    }
  });
  close(lines.length - 1);
  // Trailing blank and comment lines after a scenario belong to nobody in particular; keep them
  // in the block so a cursor just below a scenario still finds it.
  return blocks;
}

/** The scenario containing `line`, if any. */
export function scenarioAt(lines: readonly string[], line: number): ScenarioBlock | undefined {
  return scenarioBlocks(lines).find((b) => line >= b.startLine && line <= b.endLine);
}

/** A code lens reduced to what matters here. */
export interface LensInfo {
  line: number;
  command: string | undefined;
  args: readonly unknown[] | undefined;
}

/**
 * The scenario name the server attached to the nearest `clnrm.runScenario` (or trace diff)
 * lens at or above `line`. The server's names are the rendered ones, so this is right even
 * when the template computes the name; the text scan is the fallback.
 */
export function scenarioFromLenses(lenses: readonly LensInfo[], line: number): string | undefined {
  let best: { line: number; name: string } | undefined;
  for (const lens of lenses) {
    if (lens.command === undefined || !SCENARIO_COMMANDS.has(lens.command)) {
      continue;
    }
    const name = lens.args?.[1];
    if (typeof name !== "string" || lens.line > line) {
      continue;
    }
    if (best === undefined || lens.line > best.line) {
      best = { line: lens.line, name };
    }
  }
  return best?.name;
}

const SCENARIO_COMMANDS = new Set([
  "clnrm.runScenario",
  "clnrm.showTraceDiff",
  "clnrm.updateBaseline",
]);
