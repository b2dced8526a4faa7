#!/usr/bin/env bash
# Container engines for the container tests (tests/tests/containers.rs): Debian's podman and
# docker.io, configured for a root CI machine with a hybrid cgroup layout and no registry.
# Idempotent: installs only what is missing, starts dockerd only when no daemon answers.
# Sourced or run by tests/run.sh; safe to run by hand.
set -euo pipefail

step() { printf '\n==> %s\n' "$*" >&2; }

pkgs=()
command -v podman >/dev/null 2>&1 || pkgs+=(podman runc uidmap slirp4netns fuse-overlayfs)
[ -x /usr/bin/docker ] && command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
command -v runc >/dev/null 2>&1 || pkgs+=(runc)
[ -x /bin/busybox ] || pkgs+=(busybox-static)
if ((${#pkgs[@]})); then
  step "apt-get install ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

# podman: crun refuses the hybrid cgroup layout; no CAP_SYS_RESOURCE to raise rlimits.
conf=/etc/containers/containers.conf
if ! grep -q '^runtime = "runc"' "$conf" 2>/dev/null; then
  step "configure podman ($conf)"
  mkdir -p /etc/containers
  cat >>"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
fi

# docker: Debian's daemon (20.10); a newer /usr/local/bin/docker CLI negotiates down.
if ! docker info >/dev/null 2>&1; then
  step "start dockerd"
  nohup dockerd --iptables=false --ip6tables=false --bridge=none \
    >/var/log/clnrm-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/clnrm-dockerd.log >&2; exit 1; }
fi
