#!/usr/bin/env bash
# Builds the large benchmark closure (bench/corpus-big.nix, > 4 GiB): bench/corpus.sh corpus-big.
#
#   bench/corpus-big.sh        # prints the root store path; files in $MICROFORGE_BENCH_OUT (default bench/out):
#                              # corpus-big-result, corpus-big.closure (nix-store --dump-db), corpus-big.paths
exec "$(cd "$(dirname "$0")" && pwd)/corpus.sh" corpus-big "$@"
