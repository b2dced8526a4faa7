// The extension in a real VS Code (code-server in headless chromium, driven by
// playwright-core): each check waits for what a user would see, with generous timeouts
// for a loaded machine; absence is only asserted after a barrier (something that comes
// later has appeared). Started by run.sh, which installs everything and sets CLNRM_E2E_*.

import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const env = process.env;
const CODE_SERVER = env.CLNRM_E2E_CODE_SERVER;
const VSIX = env.CLNRM_E2E_VSIX;
const SERVER = env.CLNRM_E2E_SERVER;
const ARTIFACTS = env.CLNRM_E2E_ARTIFACTS;
const FIXTURE = env.CLNRM_E2E_FIXTURE;
const CHROMIUM = env.CLNRM_E2E_CHROMIUM || "/usr/bin/chromium";
const ONLY = env.CLNRM_E2E_ONLY ? new RegExp(env.CLNRM_E2E_ONLY) : undefined;
const TRACES = path.join(FIXTURE, "..", "..", "..", "..", "tests", "fixtures", "traces");
const { chromium } = await import(pathToFileURL(path.join(env.CLNRM_E2E_PLAYWRIGHT, "index.mjs")).href);

/** UI waits: generous, the machine may be busy building. */
const UI = 60_000;
/** A scenario run (spawn, trace, lens refresh). */
const RUN = 180_000;
/** code-server start and the workbench's first paint. */
const START = 240_000;

/** The whole run: every wait above is bounded, this bounds their sum. */
const WHOLE = 20 * 60_000;

const results = [];
/**
 * Every process a session starts carries CLNRM_E2E_SESSION=<its root> in its environment:
 * code-server starts its extension host and helpers in process groups of their own, so
 * the group of the code-server process is not enough to end them all.
 */
const sessions = new Set();

function sessionPids(root) {
  const marker = Buffer.from(`CLNRM_E2E_SESSION=${root}\0`);
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`).includes(marker)) {
        pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function endSession(root, signal) {
  for (const pid of sessionPids(root)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

process.on("exit", () => {
  for (const root of sessions) {
    endSession(root, "SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
  }
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(1));
}
setTimeout(() => {
  log(`e2e: gave up after ${WHOLE / 60_000} min`);
  process.stdout.write(`test result: FAILED. ${results.filter((r) => r.ok).length} passed; ${results.filter((r) => !r.ok).length + 1} failed; 0 ignored (VS Code e2e)\n`);
  process.exit(1);
}, WHOLE).unref();

function log(line) {
  process.stderr.write(`${line}\n`);
}

function slug(name) {
  return name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();
}

/** One named check: pass/fail line, and a screenshot either way. */
async function check(session, name, body) {
  if (ONLY && !ONLY.test(name)) {
    return;
  }
  if (!session.page) {
    results.push({ name, ok: false });
    log(`e2e check ${name} ... FAILED\n    ${session.name} session did not start: ${session.error}`);
    return;
  }
  const started = Date.now();
  let error;
  try {
    await body(session.page);
  } catch (e) {
    error = e;
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const shot = path.join(ARTIFACTS, `${slug(name)}${error ? "-FAILED" : ""}.png`);
  await session.page.screenshot({ path: shot }).catch(() => undefined);
  if (error) {
    // The workbench's DOM at the failure: class names and texts for whoever fixes it.
    const html = await session.page.content().catch(() => "");
    fs.writeFileSync(shot.replace(/\.png$/, ".html"), html);
  }
  results.push({ name, ok: !error });
  if (error) {
    log(`e2e check ${name} ... FAILED (${secs} s)\n    ${String(error.message ?? error).split("\n").join("\n    ")}\n    screenshot: ${shot}`);
  } else {
    log(`e2e check ${name} ... ok (${secs} s)`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function run(file, args, timeout) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${path.basename(file)} ${args.join(" ")}: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
    );
  });
}

async function until(what, timeout, probe) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await probe().catch(() => false)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The workspace: the fixture, plus a scenario with a recorded trace and baseline. */
function workspace(dir) {
  fs.cpSync(FIXTURE, dir, { recursive: true });
  fs.copyFileSync(path.join(TRACES, "smoke.clnrm.toml"), path.join(dir, "tests", "smoke.clnrm.toml"));
  const traces = path.join(dir, ".clnrm", "traces", "tests", "smoke.clnrm.toml");
  const baselines = path.join(dir, ".clnrm", "baselines", "tests", "smoke.clnrm.toml");
  fs.mkdirSync(traces, { recursive: true });
  fs.mkdirSync(baselines, { recursive: true });
  fs.copyFileSync(path.join(TRACES, "current_changed.json"), path.join(traces, "smoke.json"));
  fs.copyFileSync(path.join(TRACES, "baseline.json"), path.join(baselines, "smoke.json"));
}

/**
 * code-server with its own profile (User settings: quiet workbench, trust on or off;
 * Machine settings: the server path, which code-server reads reliably at activation),
 * the .vsix installed, and chromium on the workspace.
 */
async function startSession(name, { trusted }) {
  const session = { name, root: fs.mkdtempSync(path.join(os.tmpdir(), `clnrm-vscode-e2e-${name}-`)) };
  try {
    const data = path.join(session.root, "data");
    const extensions = path.join(session.root, "extensions");
    session.workspace = path.join(session.root, "workspace");
    workspace(session.workspace);
    fs.mkdirSync(path.join(data, "User"), { recursive: true });
    fs.mkdirSync(path.join(data, "Machine"), { recursive: true });
    fs.writeFileSync(
      path.join(data, "User", "settings.json"),
      JSON.stringify(
        {
          "telemetry.telemetryLevel": "off",
          "update.mode": "none",
          "extensions.autoCheckUpdates": false,
          "extensions.autoUpdate": false,
          "extensions.ignoreRecommendations": true,
          "workbench.startupEditor": "none",
          "workbench.tips.enabled": false,
          "workbench.enableExperiments": false,
          "workbench.welcomePage.walkthroughs.openOnInstall": false,
          "workbench.secondarySideBar.defaultVisibility": "hidden",
          "chat.disableAIFeatures": true,
          "git.enabled": false,
          "editor.minimap.enabled": false,
          "editor.codeLens": true,
          "files.autoSave": "off",
          "problems.defaultViewMode": "tree",
          "security.workspace.trust.enabled": !trusted,
          "security.workspace.trust.startupPrompt": "never",
          "security.workspace.trust.banner": "never",
        },
        null,
        1,
      ),
    );
    fs.writeFileSync(path.join(data, "Machine", "settings.json"), JSON.stringify({ "clnrm.server.path": SERVER }, null, 1));
    const config = path.join(session.root, "config.yaml");
    fs.writeFileSync(config, "");
    const common = ["--config", config, "--user-data-dir", data, "--extensions-dir", extensions];
    await run(CODE_SERVER, [...common, "--install-extension", VSIX], 300_000);

    const port = await freePort();
    const out = fs.openSync(path.join(session.root, "code-server.log"), "a");
    session.proc = spawn(
      CODE_SERVER,
      [
        ...common,
        "--auth",
        "none",
        "--bind-addr",
        `127.0.0.1:${port}`,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-getting-started-override",
        "--ignore-last-opened",
        ...(trusted ? ["--disable-workspace-trust"] : []),
        session.workspace,
      ],
      { stdio: ["ignore", out, out], env: { ...process.env, CLNRM_E2E_SESSION: session.root } },
    );
    sessions.add(session.root);
    const url = `http://127.0.0.1:${port}/`;
    await until(`code-server on ${url}`, START, async () => (await fetch(`${url}healthz`)).ok);

    session.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    });
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(UI);
    await page.goto(`${url}?folder=${encodeURIComponent(session.workspace)}`, { timeout: START });
    await page.locator(".monaco-workbench .part.statusbar").waitFor({ timeout: START });
    // The workspace is loaded once its folder shows in the explorer.
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "tests" }).first().waitFor({ timeout: START });
    session.page = page;
  } catch (e) {
    session.error = e.message ?? String(e);
    log(`e2e: the ${name} session did not start: ${session.error}`);
    log(`e2e: code-server log: ${path.join(session.root, "code-server.log")}`);
  }
  return session;
}

async function stopSession(session) {
  await session.browser?.close().catch(() => undefined);
  if (session.proc) {
    endSession(session.root, "SIGTERM");
    await until("the session's processes to end", 30_000, async () => sessionPids(session.root).length === 0).catch(() =>
      endSession(session.root, "SIGKILL"),
    );
    sessions.delete(session.root);
  }
  if (!session.page || results.some((r) => !r.ok)) {
    // Keep the code-server log (it holds the extension host's) next to the screenshots.
    try {
      fs.copyFileSync(path.join(session.root, "code-server.log"), path.join(ARTIFACTS, `code-server-${session.name}.log`));
      fs.cpSync(path.join(session.root, "data", "logs"), path.join(ARTIFACTS, `logs-${session.name}`), { recursive: true });
    } catch (e) {
      log(`e2e: keeping the ${session.name} session's logs: ${e.message}`);
    }
  }
  fs.rmSync(session.root, { recursive: true, force: true });
}

// --- Workbench helpers ------------------------------------------------------------------

const quickInput = (page) => page.locator(".quick-input-widget");

/**
 * Type into the command palette (F1) and pick the row whose label has `label`. The palette
 * lists what exists when it opens (a view's commands appear once its extension registered
 * it), so it is reopened until the row shows.
 */
async function pick(page, text, label, timeout = UI) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const input = quickInput(page).locator("input");
    await input.waitFor({ state: "visible" });
    await input.fill(text);
    const row = quickInput(page).locator(".monaco-list-row", { hasText: label }).first();
    try {
      await row.waitFor({ timeout: Math.max(1, Math.min(10_000, deadline - Date.now())) });
    } catch (e) {
      if (Date.now() < deadline) {
        continue;
      }
      throw new Error(`no "${label}" in the command palette for "${text}" after ${timeout / 1000} s`);
    }
    await row.click();
    await quickInput(page).waitFor({ state: "hidden" });
    return;
  }
}

async function command(page, label) {
  await pick(page, `>${label}`, label);
}

/** Open a workspace file by Quick Open, and wait for its tab to be the active one. */
async function openFile(page, relative) {
  const base = path.basename(relative);
  await pick(page, relative, base);
  await page.locator(".tabs-container .tab.active", { hasText: base }).waitFor();
  await activeEditor(page).locator(".view-lines").waitFor();
}

function activeEditor(page) {
  return page.locator(".editor-group-container.active .editor-instance .monaco-editor").first();
}

function lenses(page) {
  return activeEditor(page).locator(".codelens-decoration");
}

/** The lens line (all lenses joined by " | ") above the `index`th `[[scenario]]`. */
function lens(page, index) {
  return lenses(page).nth(index);
}

async function languageMode(page) {
  return (await page.locator('[id="status.editor.mode"]').innerText()).trim();
}

/**
 * The Problems panel showing `file`'s problems only (its filter takes a glob): the panel's
 * list renders only the rows in view, so a long list could hide a row below the fold.
 */
async function focusProblems(page, file) {
  await command(page, "Problems: Focus on Problems View");
  await page.locator(".markers-panel").waitFor();
  await page.locator(".part.panel .viewpane-filter input").fill(`**/${file}`);
}

/** A Problems row with `code` at 1-based `line` (of the file the filter shows). */
function problem(page, code, line) {
  return page.locator(".markers-panel .monaco-list-row", { hasText: new RegExp(`${code}[\\s\\S]*\\[Ln ${line}, Col \\d+\\]`) });
}

/**
 * Each lens sits right above its `[[scenario]]` header: its bottom edge touches the top of
 * the header line (the lens is a view zone inserted before that line).
 */
async function lensesAboveHeaders(page) {
  return activeEditor(page).evaluate((editor) => {
    const headers = [...editor.querySelectorAll(".view-line")]
      .filter((l) => l.textContent.replace(/\u00a0/g, " ").trim() === "[[scenario]]")
      .map((l) => l.getBoundingClientRect().top)
      .sort((a, b) => a - b);
    const lensBottoms = [...editor.querySelectorAll(".codelens-decoration")]
      .map((l) => l.getBoundingClientRect().bottom)
      .sort((a, b) => a - b);
    return { headers, lensBottoms };
  });
}


// --- Testing view ------------------------------------------------------------------------

async function focusTestExplorer(page) {
  await command(page, "Testing: Focus on Test Explorer View");
  await page.locator(".test-explorer-tree").waitFor();
}

/** The Test Explorer row of the item labelled `label` (its aria-label: "label (State)…"). */
function testRow(page, label) {
  return page.locator(`.test-explorer-tree .monaco-list-row[aria-label^=${JSON.stringify(`${label} (`)}]`).first();
}

/** The Test Explorer row of a file: its label starts with the path relative to the (single) folder. */
function fileRow(page, relative) {
  return page.locator(`.test-explorer-tree .monaco-list-row[aria-label^=${JSON.stringify(`${relative} (`)}]`).first();
}

/** Expand a collapsed row (its children are then rendered). */
async function expand(row) {
  if ((await row.getAttribute("aria-expanded")) === "false") {
    await row.locator(".monaco-tl-twistie").click();
  }
}

// --- The checks --------------------------------------------------------------------------

async function trustedChecks(s) {
  await check(s, "language mode of .clnrm.toml", async (page) => {
    await openFile(page, "tests/runs.clnrm.toml");
    await until("the status bar language to be Cleanroom Template", UI, async () => (await languageMode(page)) === "Cleanroom Template");
  });
  await check(s, "language mode of .clnrm.toml.tera", async (page) => {
    await openFile(page, "tests/templated.clnrm.toml.tera");
    await until("the status bar language to be Cleanroom Template", UI, async () => (await languageMode(page)) === "Cleanroom Template");
  });
  await check(s, "diagnostics on their lines in the Problems panel", async (page) => {
    await openFile(page, "tests/templated.clnrm.toml.tera");
    await openFile(page, "tests/broken.clnrm.toml");
    // broken.clnrm.toml: unknown key on line 14, undefined service on line 18;
    // templated.clnrm.toml.tera: the undefined variable on line 3.
    await focusProblems(page, "broken.clnrm.toml");
    await problem(page, "unknown-key", 14).waitFor();
    await problem(page, "undefined-service", 18).waitFor();
    await focusProblems(page, "templated.clnrm.toml.tera");
    await problem(page, "undefined-variable", 3).waitFor();
  });
  await check(s, "a lens above each scenario", async (page) => {
    await openFile(page, "tests/runs.clnrm.toml");
    await lens(page, 1).filter({ hasText: "▶ Run" }).waitFor();
    await until("two lenses, each right above a [[scenario]] header", UI, async () => {
      const { headers, lensBottoms } = await lensesAboveHeaders(page);
      return (
        headers.length === 2 &&
        lensBottoms.length === 2 &&
        headers.every((top, i) => Math.abs(top - lensBottoms[i]) <= 4)
      );
    }).catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify(await lensesAboveHeaders(page))}`);
    });
    for (const i of [0, 1]) {
      const text = await lens(page, i).innerText();
      if (!text.includes("▶ Run") || !text.includes("trace: not run yet")) {
        throw new Error(`lens ${i}: ${JSON.stringify(text)}`);
      }
    }
  });
  await check(s, "a ▶ Run click ends in ✓ passed in the lens", async (page) => {
    await openFile(page, "tests/runs.clnrm.toml");
    await lens(page, 0).locator("a", { hasText: "▶ Run" }).click();
    await lens(page, 0).filter({ hasText: "✓ passed" }).waitFor({ timeout: RUN });
  });
  await check(s, "a ▶ Run click ends in ✗ failed in the lens", async (page) => {
    await openFile(page, "tests/fail.clnrm.toml");
    await lens(page, 0).locator("a", { hasText: "▶ Run" }).click();
    await lens(page, 0).filter({ hasText: "✗ failed" }).waitFor({ timeout: RUN });
    // The unmet expectation is a diagnostic on its key (line 16).
    await focusProblems(page, "fail.clnrm.toml");
    await problem(page, "expectation-unmet", 16).waitFor({ timeout: RUN });
  });
  await check(s, "a save runs the file and ends in ✓ passed in the lens", async (page) => {
    await openFile(page, "tests/saved.clnrm.toml");
    await lens(page, 0).filter({ hasText: "▶ Run" }).waitFor();
    await activeEditor(page).locator(".view-lines").click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("# saved by the e2e check");
    await page.locator(".tabs-container .tab.active.dirty").waitFor();
    await page.keyboard.press("Control+S");
    await page.locator(".tabs-container .tab.active:not(.dirty)").waitFor();
    await lens(page, 0).filter({ hasText: "✓ passed" }).waitFor({ timeout: RUN });
  });
  await check(s, "Show Trace Diff opens the trace-diff webview", async (page) => {
    // One webview on screen at a time: its frame is then the only one.
    await command(page, "View: Close All Editors");
    await openFile(page, "tests/smoke.clnrm.toml");
    const trace = lens(page, 0).locator("a", { hasText: /^trace: / });
    await trace.waitFor();
    await trace.click();
    await page.locator(".tabs-container .tab", { hasText: "Trace diff: smoke" }).waitFor();
    const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
    // The smoke diff (as tests/tests/diff_html_browser.rs counts it): 9 spans, 1 ❌ missing.
    await frame.locator("details.span").nth(8).waitFor();
    const spans = await frame.locator("details.span").count();
    const missing = await frame.locator("details.span.missing").count();
    if (spans !== 9 || missing !== 1) {
      throw new Error(`webview shows ${spans} spans (${missing} missing); expected 9 (1 missing)`);
    }
    // Its script ran (it reveals the controls).
    await frame.locator("p.controls").waitFor();
  });
}

async function explorerChecks(s) {
  await check(s, "Test Explorer: files with their scenarios, before any file is opened", async (page) => {
    // The extension starts because the workspace holds test files; no editor is open.
    await focusTestExplorer(page);
    for (const file of ["tests/explorer.clnrm.toml", "tests/runs.clnrm.toml", "tests/fail.clnrm.toml", "tests/greet.clnrm.toml.tera"]) {
      await fileRow(page, file).waitFor();
    }
    await expand(fileRow(page, "tests/explorer.clnrm.toml"));
    await testRow(page, "passes").waitFor();
    await testRow(page, "fails").waitFor();
    // A template's scenario under its rendered name.
    await expand(fileRow(page, "tests/greet.clnrm.toml.tera"));
    await testRow(page, "greet world").waitFor();
  });
  await check(s, "Test Explorer: a run from the tree ends passed and failed", async (page) => {
    await focusTestExplorer(page);
    const file = fileRow(page, "tests/explorer.clnrm.toml");
    await expand(file);
    await testRow(page, "fails").waitFor();
    await file.hover();
    await file.locator(".action-label.codicon-testing-run-icon").click();
    await testRow(page, "passes").locator(".computed-state.codicon-testing-passed-icon").waitFor({ timeout: RUN });
    await testRow(page, "fails").locator(".computed-state.codicon-testing-failed-icon").waitFor({ timeout: RUN });
    await file.locator(".computed-state.codicon-testing-failed-icon").waitFor();
  });
  await check(s, "Test Explorer: an unmet expectation opens as expected ↔ actual", async (page) => {
    await focusTestExplorer(page);
    const file = fileRow(page, "tests/counts.clnrm.toml");
    await file.hover();
    await file.locator(".action-label.codicon-testing-run-icon").click();
    await file.locator(".computed-state.codicon-testing-failed-icon").waitFor({ timeout: RUN });
    // The message in the Test Results view opens VS Code's diff of expected and actual.
    const message = page.locator('.test-output-peek-tree .monaco-list-row[aria-label^="expect.counts.spans_total"]').first();
    await message.click();
    const diff = page.locator(".part.panel .monaco-diff-editor").first();
    await diff.waitFor();
    // spans_total = { gte = 50 } against the 3 spans of `true`.
    await until("expected ↔ actual in the diff", UI, async () => {
      const [expected, actual] = await diff.locator(".view-lines").allInnerTexts();
      return /50/.test(expected ?? "") && /\b3\b/.test(actual ?? "");
    }).catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify(await diff.locator(".view-lines").allInnerTexts())}`);
    });
  });
  await check(s, "Test Explorer: Show Trace Diff on a failed test opens the webview", async (page) => {
    await command(page, "View: Close All Editors");
    await focusTestExplorer(page);
    await expand(fileRow(page, "tests/explorer.clnrm.toml"));
    const fails = testRow(page, "fails");
    await fails.locator(".computed-state.codicon-testing-failed-icon").waitFor();
    await fails.click({ button: "right" });
    // VS Code's menus act on a keypress (a click right after the menu opens is ignored).
    const item = page.locator(".monaco-menu .action-menu-item", { hasText: "Show Trace Diff" }).first();
    await item.hover();
    await page.locator(".monaco-menu .action-item.focused", { hasText: "Show Trace Diff" }).waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".tabs-container .tab", { hasText: "Trace diff: fails" }).waitFor();
    // The page of that scenario: it ran, with no baseline recorded yet.
    const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
    await frame.locator('section.scenario[data-scenario="fails"]').waitFor();
  });
}

async function restrictedChecks(s) {
  await check(s, "Restricted Mode: diagnostics, no ▶ Run lens", async (page) => {
    await page.locator('[id="status.workspaceTrust"], .statusbar-item', { hasText: "Restricted Mode" }).first().waitFor();
    await openFile(page, "tests/broken.clnrm.toml");
    await focusProblems(page, "broken.clnrm.toml");
    await problem(page, "undefined-service", 18).waitFor();
    await openFile(page, "tests/runs.clnrm.toml");
    // Barrier: both trace lenses are there; the ▶ Run lens would share their lines.
    await lens(page, 1).filter({ hasText: "trace: not run yet" }).waitFor();
    await lens(page, 0).filter({ hasText: "trace: not run yet" }).waitFor();
    const all = await lenses(page).allInnerTexts();
    if (all.some((t) => t.includes("▶ Run"))) {
      throw new Error(`a ▶ Run lens in Restricted Mode: ${JSON.stringify(all)}`);
    }
  });
}

async function restrictedExplorerChecks(s) {
  await check(s, "Restricted Mode: Test Explorer shows scenarios; a run asks for trust, Cancel runs nothing", async (page) => {
    await openFile(page, "tests/explorer.clnrm.toml");
    await focusTestExplorer(page);
    const file = fileRow(page, "tests/explorer.clnrm.toml");
    await expand(file);
    await testRow(page, "passes").waitFor();
    await testRow(page, "fails").waitFor();
    await file.hover();
    await file.locator(".action-label.codicon-testing-run-icon").click();
    // VS Code itself asks before any test runs in an untrusted workspace (the extension's
    // own refusal is behind it).
    const dialog = page.locator(".monaco-dialog-box", { hasText: "Do you trust the authors" });
    await dialog.waitFor();
    await dialog.locator(".monaco-button", { hasText: /^Cancel$/ }).click();
    await dialog.waitFor({ state: "hidden" });
    // Barrier: the run is over (the view's toolbar offers "Run Tests" again, not "Cancel").
    await page.locator(".pane-header .codicon-testing-run-all-icon, .title-actions .codicon-testing-run-all-icon").first().waitFor();
    for (const name of ["passes", "fails"]) {
      const label = await testRow(page, name).getAttribute("aria-label");
      if (/Passed|Failed/.test(label ?? "")) {
        throw new Error(`"${name}" ran in Restricted Mode: ${label}`);
      }
    }
    await page.locator('[id="status.workspaceTrust"], .statusbar-item', { hasText: "Restricted Mode" }).first().waitFor();
  });
}

// --- Main --------------------------------------------------------------------------------

fs.mkdirSync(ARTIFACTS, { recursive: true });
// A screenshot left from an earlier run would pass for one of this run.
for (const entry of fs.readdirSync(ARTIFACTS)) {
  if (/\.(png|html|log)$|^logs-/.test(entry)) {
    fs.rmSync(path.join(ARTIFACTS, entry), { recursive: true, force: true });
  }
}
const begun = Date.now();
for (const [name, trusted, checks] of [
  [
    "trusted",
    true,
    async (session) => {
      // The explorer first: later checks run other files, whose results also reach it.
      await explorerChecks(session);
      await trustedChecks(session);
    },
  ],
  [
    "restricted",
    false,
    async (session) => {
      await restrictedChecks(session);
      await restrictedExplorerChecks(session);
    },
  ],
]) {
  let session = await startSession(name, { trusted });
  if (!session.page) {
    // Once more from scratch (a port taken between choosing and binding it, a slow start).
    await stopSession(session);
    session = await startSession(name, { trusted });
  }
  try {
    await checks(session);
  } finally {
    await stopSession(session);
  }
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
log(`e2e: ${results.length} checks in ${((Date.now() - begun) / 1000).toFixed(0)} s; screenshots in ${ARTIFACTS}`);
// The line tests/run.sh counts (cargo's format).
process.stdout.write(`test result: ${failed ? "FAILED" : "ok"}. ${passed} passed; ${failed} failed; 0 ignored (VS Code e2e)\n`);
process.exit(failed ? 1 : 0);
