#!/usr/bin/env bash
# Time to a verdict on each backend, as a user sees it: `clnrm-lsp run` of a one-command
# scenario, uncached (--no-cache) and cached; of a scenario whose service (busybox
# httpd) is gated by a health check; and of a file with two such scenarios (the service
# starts once per file). Median of N runs (default 5), in milliseconds.
# Needs the engines and the test image (tests/engines.sh; the container tests build
# localhost/clnrm-test-busybox:latest). Usage: tests/bench/containers.sh [path/to/clnrm-lsp]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/release/clnrm-lsp}"
N="${N:-5}"
IMAGE=localhost/clnrm-test-busybox:latest

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# time_runs DIR ARGS…: median wall time of N runs of `clnrm-lsp run ARGS` in DIR.
time_runs() {
  local dir="$1"; shift
  for _ in $(seq "$N"); do
    local t0; t0=$(ms)
    (cd "$dir" && "$BIN" run "$@" >/dev/null) || { echo "run failed in $dir" >&2; exit 1; }
    echo $(( $(ms) - t0 ))
  done | median
}

ws() {
  local d; d=$(mktemp -d)
  mkdir -p "$d/.clnrm"
  printf '[executor]\nbackend = "%s"\ndefault_image = "%s"\n' "$1" "$IMAGE" >"$d/.clnrm/config.toml"
  echo "$d"
}

printf '| backend | one command, uncached | one command, cached | service with health check, uncached | two scenarios, one service, uncached |\n|---|---|---|---|---|\n'
for backend in local docker podman; do
  d=$(ws "$backend")
  printf '[meta]\nname = "b"\nversion = "1"\n[[scenario]]\nname = "one"\nrun = "true"\n' >"$d/one.clnrm.toml"
  uncached=$(time_runs "$d" --no-cache one.clnrm.toml)
  (cd "$d" && "$BIN" run one.clnrm.toml >/dev/null)
  cached=$(time_runs "$d" one.clnrm.toml)
  port=$(( 20000 + RANDOM % 20000 ))
  client="wget -q -O- http://127.0.0.1:$port/"
  [ "$backend" = local ] && client="busybox $client"
  cat >"$d/svc.clnrm.toml" <<TOML
[meta]
name = "s"
version = "1"
[service.web]
image = "$IMAGE"
args = ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 127.0.0.1:$port -h /www"]
ports = [$port]
health_check = { cmd = ["wget", "-q", "-O-", "http://127.0.0.1:$port/"], interval = 1, retries = 30 }
[[scenario]]
name = "client"
service = "web"
[[scenario.steps]]
name = "get"
command = ["$client"]
TOML
  service=$(time_runs "$d" --no-cache svc.clnrm.toml)
  { cat "$d/svc.clnrm.toml"; printf '[[scenario]]\nname = "again"\nservice = "web"\n[[scenario.steps]]\nname = "get"\ncommand = ["%s"]\n' "$client"; } >"$d/two.clnrm.toml"
  two=$(time_runs "$d" --no-cache two.clnrm.toml)
  printf '| %s | %s ms | %s ms | %s ms | %s ms |\n' "$backend" "$uncached" "$cached" "$service" "$two"
  rm -rf "$d"
done
