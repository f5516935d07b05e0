#!/usr/bin/env bash
# Builds a benchmark closure with the local Nix 2.8 from this machine's own files, and writes its closure.
# Idempotent: a second run only re-reads Nix's answers.
#
#   bench/corpus.sh [NAME]     # prints the root store path on stdout
#
# NAME is the Nix file bench/NAME.nix (attribute `system`): `corpus` (the default; >= 1 GiB, shaped like a
# NixOS closure) or `corpus-big` (> 4 GiB, bench/corpus-big.sh). Outputs (directory $MICROFORGE_BENCH_OUT,
# default bench/out):
#   NAME-result   GC-root symlink to the root store path (the "system" path)
#   NAME.root     the root store path, one line
#   NAME.closure  the closure: nix-store --dump-db of every member (registration format with base16
#                 narHash, narSize, references): microforge reads it with --closure (format auto-detected)
#   NAME.paths    the member store paths, one per line, sorted
#   NAME.info     members, files, NAR bytes (human-readable summary)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:-corpus}
case $name in corpus | corpus-big) ;; *) echo "bench/corpus.sh: unknown corpus '$name' (corpus or corpus-big)" >&2; exit 2 ;; esac
. "$here/../tests/nix-env.sh"
out=${MICROFORGE_BENCH_OUT:-$here/out}
mkdir -p "$out"
command -v nix-build >/dev/null || { echo "bench/corpus.sh: nix-build not found (install nix-bin: tests/install-deps.sh)" >&2; exit 1; }
root=$(nix-build --option substituters '' -o "$out/$name-result" "$here/$name.nix" -A system)
if [ -s "$out/$name.info" ] && [ "$(cat "$out/$name.root" 2>/dev/null)" = "$root" ]; then
  echo "$root"   # unchanged: keep the files of the previous run
  exit 0
fi
nix-store --query --requisites "$root" | LC_ALL=C sort > "$out/$name.paths.tmp"
mv "$out/$name.paths.tmp" "$out/$name.paths"
xargs nix-store --dump-db < "$out/$name.paths" > "$out/$name.closure.tmp"
mv "$out/$name.closure.tmp" "$out/$name.closure"
echo "$root" > "$out/$name.root"
{
  echo "root: $root"
  echo "members: $(wc -l < "$out/$name.paths")"
  echo "nar bytes: $(awk 'length(prev) == 64 && prev ~ /^[0-9a-f]+$/ {s += $0} {prev = $0} END {printf "%.0f", s}' "$out/$name.closure")"
  echo "entries: $(xargs -a "$out/$name.paths" -I{} find {} | wc -l) (files: $(xargs -a "$out/$name.paths" -I{} find {} -type f | wc -l), symlinks: $(xargs -a "$out/$name.paths" -I{} find {} -type l | wc -l))"
} > "$out/$name.info"
cat "$out/$name.info" >&2
echo "$root"
