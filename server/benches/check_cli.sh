#!/bin/sh
# `check` speed and memory with the release binary, against taplo's `lint` (syntax only).
#
#   cargo build --release -p clnrm-lsp && sh server/benches/check_cli.sh
#
# Needs hyperfine (Debian: hyperfine), python3, GNU time (/usr/bin/time) and taplo's Rust CLI as
# $TAPLO or `taplo` on PATH (`cargo install taplo-cli --version 0.10.0 --locked
# --no-default-features --features lint,rustls-tls`; the npm `@taplo/cli` is a Node
# wrapper whose start-up dominates). The corpus is ../shared/corpus/clnrm beside the
# repository, or $CLNRM_CORPUS_DIR. 10,000 files are made by copying the corpus's test
# files into nested directories of a temporary tree. With $CLNRM_REPO (a checkout of the
# clnrm repository), its test files and template libraries are checked too, named one by
# one, as the README's "real files" run.
set -eu
BIN=${BIN:-target/release/clnrm-lsp}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
BENCHES=$(cd "$(dirname "$0")" && pwd)
TAPLO=${TAPLO:-taplo}
CORPUS=${CLNRM_CORPUS_DIR:-../shared/corpus/clnrm}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

find "$CORPUS" -name '*.toml' | sort > "$TMP/toml-files"
echo "corpus: $(wc -l < "$TMP/toml-files") .toml files"

# The same .toml files, one process each run (both exit 1: the corpus has broken files).
hyperfine -N -i --warmup 5 --runs 30 \
  "$BIN check $(tr '\n' ' ' < "$TMP/toml-files")" \
  "$TAPLO lint --no-schema --no-auto-config $(tr '\n' ' ' < "$TMP/toml-files")"

# The real files: every test and template library of a clnrm checkout, named one by one.
if [ -n "${CLNRM_REPO:-}" ]; then
  (
    cd "$CLNRM_REPO"
    { find . \( -name '*.clnrm.toml' -o -name '*.clnrm.toml.tera' \) -not -path './target/*'
      find . -name '*.tera' ! -name '*.clnrm.toml.tera' -not -path './target/*'; } |
      sed 's|^\./||' | sort > "$TMP/real-files"
    echo "real files: $(wc -l < "$TMP/real-files")"
    hyperfine -N -i --warmup 5 --runs 100 \
      "$BIN check $(tr '\n' ' ' < "$TMP/real-files")" \
      "$TAPLO lint --no-schema --no-auto-config $(tr '\n' ' ' < "$TMP/real-files")"
    # The same files in a tree of only them (the workspace marker and .gitignore kept),
    # the two programs run in turn (see interleaved.py), then hyperfine's way.
    mkdir -p "$TMP/only"
    cp --parents $(cat "$TMP/real-files") "$TMP/only"
    cp -r .clnrm .gitignore "$TMP/only" 2>/dev/null || true
    cd "$TMP/only"
    python3 "$BENCHES/interleaved.py" 150 "$TMP/real-files" \
      "clnrm-lsp=$BIN check @FILES" "taplo=$TAPLO lint --no-schema --no-auto-config @FILES"
    hyperfine -N -i --warmup 10 --runs 150 \
      "$TAPLO lint --no-schema --no-auto-config $(tr '\n' ' ' < "$TMP/real-files")" \
      "$BIN check $(tr '\n' ' ' < "$TMP/real-files")"
  )
fi

# 10,000 files: the corpus's test files copied into 10,000 names.
mkdir -p "$TMP/big"
find "$CORPUS" \( -name '*.clnrm.toml' -o -name '*.clnrm.toml.tera' \) | sort > "$TMP/tests"
n=0
while [ "$n" -lt 10000 ]; do
  while read -r f; do
    [ "$n" -ge 10000 ] && break
    d="$TMP/big/d$((n / 100))"
    mkdir -p "$d"
    case "$f" in
      *.tera) cp "$f" "$d/f$n.clnrm.toml.tera" ;;
      *) cp "$f" "$d/f$n.clnrm.toml" ;;
    esac
    n=$((n + 1))
  done < "$TMP/tests"
done
mkdir -p "$TMP/big/.git"
echo "big tree: $(find "$TMP/big" -type f | wc -l) files"
for fmt in human json; do
  hyperfine -N -i --warmup 2 --runs 10 "$BIN check --format $fmt $TMP/big"
  /usr/bin/time -f "$fmt: %e s wall, %U s user, %M KiB max RSS" \
    "$BIN" check --format "$fmt" "$TMP/big" > /dev/null || true
done

# The copies share ~60 contents, and identical content is analysed once (the content
# cache). The same tree with every file made distinct by a trailing comment line:
find "$TMP/big" -type f -name '*.toml*' | while read -r f; do
  printf '\n# distinct copy %s\n' "$f" >> "$f"
done
/usr/bin/time -f "distinct, json: %e s wall, %U s user, %M KiB max RSS" \
  "$BIN" check --format json "$TMP/big" > /dev/null || true
