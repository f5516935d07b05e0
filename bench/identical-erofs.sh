#!/usr/bin/env bash
# Builds EROFS images with two microforge jars and cmp's them: a refactoring's proof that the bytes do not change.
#
#   bench/identical-erofs.sh OLD_JAR NEW_JAR [trees|corpus|all]     # default: all
#
# trees: test trees (a generated one with hard links, short and long symlinks, empty files, files of exactly
#   4096 bytes, big files, many small files and duplicates; /usr/share/doc; /usr/lib/x86_64-linux-gnu) through
#   the writer's API (bench/ErofsIdentical.java, which can turn dedupe off), for none/lz4/lz4hc x pcluster
#   4K/64K/1M x ztailpacking x fragments x dedupe, threads cycling through 1/2/8 (TREES="DIR..." replaces the
#   list; the generated tree is $SCRATCH/gen).
# corpus: the bench corpus (bench/corpus.sh; MICROFORGE_BENCH_OUT) through `image build --type erofs`, for a
#   covering set of the same options. Scratch files go under $SCRATCH (default /tmp/identical-erofs).
# Prints one line per build pair; exits 1 if any pair differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 OLD_JAR NEW_JAR [trees|corpus|all]" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2") what=${3:-all}
scratch=${SCRATCH:-/tmp/identical-erofs}
rm -rf "$scratch"; mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
java=(java --add-opens java.base/sun.nio.fs=ALL-UNNAMED)
pairs=0 differ=0
check() { # name
  pairs=$((pairs + 1))
  if cmp -s "$scratch/old.img" "$scratch/new.img"; then echo "same    $1 ($(stat -c %s "$scratch/new.img") bytes)"
  else echo "DIFFER  $1"; differ=$((differ + 1)); fi
}

gen_tree() ( # a tree with the edge cases (yes | head ends by SIGPIPE)
  set +o pipefail
  local t=$1 i
  mkdir -p "$t/a/b/c" "$t/many" "$t/dup" "$t/emptydir"
  : >"$t/empty1"; : >"$t/a/empty2"
  head -c 4096 /dev/urandom >"$t/rand4096"; yes abcdefgh | head -c 4096 >"$t/text4096"
  head -c 4095 /dev/urandom >"$t/rand4095"; head -c 4097 /dev/urandom >"$t/rand4097"
  head -c $((3 << 20)) /dev/urandom >"$t/big-random"
  { for i in $(seq 1 60000); do echo "line $i of a compressible big file"; done; } >"$t/big-text"
  { head -c 700000 /dev/urandom; yes xyz | head -c 900000; } >"$t/a/big-mixed"
  for i in $(seq 1 400); do printf 'small file %d\n%.0s' "$i" $(seq 1 $((i % 37 + 1))) >"$t/many/f$i"; done
  cp "$t/big-text" "$t/dup/big-text-copy"; cp "$t/rand4096" "$t/dup/rand4096-copy"; cp "$t/a/big-mixed" "$t/dup/mixed-copy"
  ln "$t/big-text" "$t/a/b/hardlink-big"; ln "$t/many/f7" "$t/a/hardlink-small"
  ln -s f1 "$t/many/short-link"; ln -s "$(printf 'x%.0s' $(seq 1 3000))" "$t/a/long-link"
  ln -s "$(printf 'y%.0s' $(seq 1 4090))" "$t/a/b/c/longer-link"; ln -s ../../big-text "$t/a/b/rel-link"
  head -c $((1 << 20)) /dev/zero >"$t/a/b/c/zeros-1m"; head -c $(((1 << 20) + 4096)) /dev/zero >"$t/a/b/c/zeros-1m4k"
)

if [ "$what" = trees ] || [ "$what" = all ]; then
  gen_tree "$scratch/gen"
  for v in old new; do
    jar=$old; [ $v = new ] && jar=$new
    mkdir -p "$scratch/h-$v"; javac -d "$scratch/h-$v" -cp "$jar" "$here/ErofsIdentical.java"
  done
  read -r -a trees <<<"${TREES:-$scratch/gen /usr/share/doc /usr/lib/x86_64-linux-gnu}"
  n=0
  thr=(1 2 8)
  for tree in "${trees[@]}"; do
    for comp in none lz4 lz4hc; do
      if [ "$comp" = none ]; then combos=("4096 false false"); else
        combos=(); for pc in 4096 65536 1048576; do for zt in false true; do for fr in false true; do combos+=("$pc $zt $fr"); done; done; done
      fi
      for c in "${combos[@]}"; do
        read -r pc zt fr <<<"$c"
        for dd in true false; do
          # the big system tree (700 MB) only with dedupe on, pcluster 4K and 1M, ztailpacking and fragments together
          if [ "$tree" = /usr/lib/x86_64-linux-gnu ] && { [ "$dd" = false ] || [ "$pc" = 65536 ] || [ "$zt" != "$fr" ]; }; then continue; fi
          t=${thr[$((n % 3))]}; n=$((n + 1))
          rm -f "$scratch/old.img" "$scratch/new.img"
          "${java[@]}" -cp "$scratch/h-old:$old" ErofsIdentical "$tree" "$scratch/old.img" "$comp" "$pc" "$zt" "$fr" "$dd" "$t"
          "${java[@]}" -cp "$scratch/h-new:$new" ErofsIdentical "$tree" "$scratch/new.img" "$comp" "$pc" "$zt" "$fr" "$dd" "$t"
          check "tree=$tree comp=$comp pcluster=$pc ztail=$zt frag=$fr dedupe=$dd threads=$t"
        done
      done
    done
  done
fi

if [ "$what" = corpus ] || [ "$what" = all ]; then
  "$here/corpus.sh" >/dev/null
  out=${MICROFORGE_BENCH_OUT:-$here/out}
  closure="$out/corpus.closure"
  # compression pcluster ztail fragments threads
  rows=("none 4096 - - 2" "lz4 4096 - - 1" "lz4 4096 - - 8" "lz4 65536 tail frag 2" "lz4 1048576 tail - 2"
        "lz4hc 4096 - - 2" "lz4hc 4096 tail frag 8" "lz4hc 65536 - frag 1" "lz4hc 1048576 tail frag 2")
  for r in "${rows[@]}"; do
    read -r comp pc zt fr t <<<"$r"
    flags=(--type erofs --compression "$comp" --threads "$t" --closure "$closure")
    [ "$comp" != none ] && flags+=(--pcluster "$pc")
    [ "$zt" = tail ] && flags+=(--tail-packing)
    [ "$fr" = frag ] && flags+=(--fragments)
    rm -f "$scratch/old.img" "$scratch/new.img"
    "${java[@]}" -jar "$old" image build "${flags[@]}" -o "$scratch/old.img" >/dev/null
    "${java[@]}" -jar "$new" image build "${flags[@]}" -o "$scratch/new.img" >/dev/null
    check "corpus comp=$comp pcluster=$pc ztail=$zt frag=$fr threads=$t"
  done
fi
echo "$pairs pairs, $differ differ"
[ "$differ" = 0 ]
