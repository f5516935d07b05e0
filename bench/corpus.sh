#!/usr/bin/env bash
# Builds the benchmark corpus (>= 1 GiB, shaped like a NixOS closure) with the local Nix 2.8 from this
# machine's own files, and writes its closure. Idempotent: a second run only re-reads Nix's answers.
#
#   bench/corpus.sh            # prints the corpus root store path on stdout
#
# Outputs (directory $MICROFORGE_BENCH_OUT, default bench/out):
#   corpus-result   GC-root symlink to the root store path (the "system" path)
#   corpus.root     the root store path, one line
#   corpus.closure  the closure: nix-store --dump-db of every member (registration format with base16
#                   narHash, narSize, references): microforge reads it with --closure (format auto-detected)
#   corpus.paths    the member store paths, one per line, sorted
#   corpus.info     members, files, NAR bytes (human-readable summary)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/nix-env.sh"
out=${MICROFORGE_BENCH_OUT:-$here/out}
mkdir -p "$out"
command -v nix-build >/dev/null || { echo "bench/corpus.sh: nix-build not found (install nix-bin: tests/install-deps.sh)" >&2; exit 1; }
root=$(nix-build --option substituters '' -o "$out/corpus-result" "$here/corpus.nix" -A system)
if [ -s "$out/corpus.info" ] && [ "$(cat "$out/corpus.root" 2>/dev/null)" = "$root" ]; then
  echo "$root"   # unchanged: keep the files of the previous run
  exit 0
fi
nix-store --query --requisites "$root" | LC_ALL=C sort > "$out/corpus.paths.tmp"
mv "$out/corpus.paths.tmp" "$out/corpus.paths"
xargs nix-store --dump-db < "$out/corpus.paths" > "$out/corpus.closure.tmp"
mv "$out/corpus.closure.tmp" "$out/corpus.closure"
echo "$root" > "$out/corpus.root"
{
  echo "root: $root"
  echo "members: $(wc -l < "$out/corpus.paths")"
  echo "nar bytes: $(awk 'length(prev) == 64 && prev ~ /^[0-9a-f]+$/ {s += $0} {prev = $0} END {printf "%d", s}' "$out/corpus.closure")"
  echo "entries: $(xargs -a "$out/corpus.paths" -I{} find {} | wc -l) (files: $(xargs -a "$out/corpus.paths" -I{} find {} -type f | wc -l), symlinks: $(xargs -a "$out/corpus.paths" -I{} find {} -type l | wc -l))"
} > "$out/corpus.info"
cat "$out/corpus.info" >&2
echo "$root"
