#!/usr/bin/env bash
# The README's test command (and what CI runs, through .ci/run): on a fresh Debian machine
# with the Rust toolchain, as root. Installs only what is missing (Neovim, Node.js, …), then
# formatting, lints, every test and the VS Code extension's checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*" >&2; }

# --- System packages -------------------------------------------------------------------
# Add "command:debian-package" pairs here; each is installed only if the command is missing.
REQUIRED_TOOLS=(
  "git:git"
  "cc:build-essential"
  "nvim:neovim"
  "node:nodejs"
  "npm:npm"
  "curl:curl"
  "chromium:chromium"
  # kerberos, a native module of code-server (editors/vscode/e2e), compiles against it.
  "krb5-config:libkrb5-dev"
  # Real servers for tests/tests/remote_cache.rs (nginx-light has the WebDAV PUT module).
  "redis-server:redis-server"
  "nginx:nginx-light"
  "python3:python3"
)
missing=()
for pair in "${REQUIRED_TOOLS[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# An S3-compatible server for tests/tests/remote_cache.rs: moto, from PyPI, in its own
# virtual environment (Debian has no S3 server package).
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  step "apt-get install python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv
fi
MOTO_ENV="${HOME}/.cache/clnrm-moto"
if [[ ! -x "$MOTO_ENV/bin/moto_server" ]]; then
  step "pip install moto[server] (S3-compatible test server)"
  python3 -m venv "$MOTO_ENV"
  "$MOTO_ENV/bin/pip" install -q 'moto[server]>=5,<6'
fi
export CLNRM_MOTO_SERVER="$MOTO_ENV/bin/moto_server"

# --- Rust components ----------------------------------------------------------------------
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    step "rustup component add $component"
    rustup component add "$component"
  fi
done

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "container engines (docker, podman) for tests/tests/containers.rs"
bash tests/engines.sh
# Every container test runs on both engines here: one that cannot run fails the suite.
export CLNRM_REQUIRE_ENGINES=1
# The remote-cache tests start redis-server and nginx themselves: missing ones fail the suite.
export CLNRM_REQUIRE_SERVERS=1

step "cargo test --workspace"
test_log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$test_log"

step "fuzz: every kept crash, then a short fixed-seed run of every target"
cargo run -q --locked -p clnrm-fuzz -- replay all
cargo run -q --locked -p clnrm-fuzz -- all --seconds 36 --seed 1

step "VS Code extension: build, unit tests, package"
bash editors/vscode/ci.sh

# Its checks print a cargo-style "test result:" line into the log, so they count below; a
# failed check fails the run (after the closing line).
step "VS Code extension in a real VS Code (code-server + headless chromium)"
e2e_status=0
bash editors/vscode/e2e/run.sh | tee -a "$test_log" || e2e_status=$?

# One closing line for the whole run (cargo's own last line is the doc-test summary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$test_log"
exit "$e2e_status"
