#!/usr/bin/env bash
# Builds the large benchmark closure (bench/corpus-big.nix, > 4 GiB) with the local Nix and writes its closure,
# as bench/corpus.sh does for the bench corpus.
#
#   bench/corpus-big.sh        # prints the root store path; files in $MICROFORGE_BENCH_OUT (default bench/out):
#                              # corpus-big-result, corpus-big.closure (nix-store --dump-db), corpus-big.paths
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/nix-env.sh"
out=${MICROFORGE_BENCH_OUT:-$here/out}
mkdir -p "$out"
command -v nix-build >/dev/null || { echo "bench/corpus-big.sh: nix-build not found (tests/install-deps.sh)" >&2; exit 1; }
root=$(nix-build --option substituters '' -o "$out/corpus-big-result" "$here/corpus-big.nix" -A system)
nix-store --query --requisites "$root" | LC_ALL=C sort > "$out/corpus-big.paths.tmp"
mv "$out/corpus-big.paths.tmp" "$out/corpus-big.paths"
xargs nix-store --dump-db < "$out/corpus-big.paths" > "$out/corpus-big.closure.tmp"
mv "$out/corpus-big.closure.tmp" "$out/corpus-big.closure"
echo "corpus-big: $(wc -l < "$out/corpus-big.paths") paths, $(awk 'length(prev) == 64 && prev ~ /^[0-9a-f]+$/ {s += $0} {prev = $0} END {printf "%.0f", s}' "$out/corpus-big.closure") NAR bytes" >&2
echo "$root"
