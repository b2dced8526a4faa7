// What the user sees of the server's answers to commands. Pure: no `vscode` import.

/**
 * The one notification for a failed or refused command. The server refuses a run with an
 * LSP error whose message is the reason (and sends no showMessage), so that message is
 * all the user needs; the client's generic "Request ... failed." is never shown.
 */
export function failureNotice(error: unknown): string {
  return `clnrm: ${failureReason(error)}`;
}

/** The server's reason for a failed command (without the `clnrm:` of the notice). */
export function failureReason(error: unknown): string {
  let reason = "";
  if (error instanceof Error) {
    reason = error.message;
  } else if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    reason = (error as { message: string }).message;
  } else if (typeof error === "string") {
    reason = error;
  }
  reason = reason.trim();
  return reason === "" ? "the command failed (see Cleanroom (clnrm) output)" : reason;
}

/** The answer to `clnrm/traceDiff`. */
export interface TraceDiffPage {
  html: string;
  markdown: string;
  title: string;
}

/** Check the server's `clnrm/traceDiff` answer; undefined when it is not one. */
export function traceDiffPage(value: unknown): TraceDiffPage | undefined {
  if (typeof value !== "object" || value === null) {
    return undefined;
  }
  const { html, markdown, title } = value as Record<string, unknown>;
  if (typeof html !== "string" || html === "") {
    return undefined;
  }
  return {
    html,
    markdown: typeof markdown === "string" ? markdown : "",
    title: typeof title === "string" && title !== "" ? title : "Trace diff",
  };
}

/** One trace-diff panel per (document, scenario): the key it is reused under. */
export function panelKey(uri: string, scenario: string): string {
  return JSON.stringify([uri, scenario]);
}

/** `clnrm.showTraceDiff`'s arguments `[uri, scenario]`, as the server's lenses send them. */
export function traceDiffArgs(args: unknown[]): { uri: string; scenario: string } | undefined {
  const [uri, scenario] = args;
  return typeof uri === "string" && typeof scenario === "string" ? { uri, scenario } : undefined;
}
