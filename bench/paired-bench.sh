#!/usr/bin/env bash
# Two microforge builds on the same corpus, interleaved: a change's cost on the hot paths it touches (the tree scan and
# the block pipeline of both image writers, image verify's reader, the closure reader), and whether the images stay
# byte-identical. Prints each round and, per row, best and median wall time of each build and their ratio (new / old).
#
#   bench/paired-bench.sh OLD_LAUNCHER NEW_LAUNCHER [ROUNDS]    # launchers: target/microforge of two checkouts
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 OLD_LAUNCHER NEW_LAUNCHER [ROUNDS]" >&2; exit 2; }
old=$1 new=$2 rounds=${3:-5}
bench/corpus.sh >/dev/null
closure=bench/out/corpus.closure
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secs() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>"$work/err" || { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
rows=(squashfs-lz4 erofs-lz4 verify-erofs closure-show)
for ((i = 1; i <= rounds; i++)); do
  for v in old new; do
    b=$old; [ "$v" = new ] && b=$new
    rm -f "$work/$v.sq" "$work/$v.ero"
    t1=$(secs "$b" image build --type squashfs --compression lz4 --closure "$closure" -o "$work/$v.sq")
    t2=$(secs "$b" image build --type erofs --compression lz4 --closure "$closure" -o "$work/$v.ero")
    t3=$(secs "$b" image verify "$work/$v.ero" --closure "$closure")
    t4=$(secs "$b" closure show --closure "$closure")
    echo "round $i $v: ${rows[0]} $t1 ms, ${rows[1]} $t2 ms, ${rows[2]} $t3 ms, ${rows[3]} $t4 ms"
    echo "$v ${rows[0]} $t1" >>"$work/times"; echo "$v ${rows[1]} $t2" >>"$work/times"
    echo "$v ${rows[2]} $t3" >>"$work/times"; echo "$v ${rows[3]} $t4" >>"$work/times"
  done
done
for r in "${rows[@]}"; do
  stats() { awk -v v="$1" -v r="$r" '$1 == v && $2 == r { print $3 }' "$work/times" | sort -n |
      awk '{ a[NR] = $1 } END { printf "%d %d", a[1], (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
  read -r ob om <<<"$(stats old)"; read -r nb nm <<<"$(stats new)"
  awk -v r="$r" -v ob="$ob" -v om="$om" -v nb="$nb" -v nm="$nm" 'BEGIN {
      printf "%-14s best %6d ms -> %6d ms (%.2fx)   median %6d ms -> %6d ms (%.2fx)\n", r, ob, nb, nb / ob, om, nm, nm / om }'
done
cmp -s "$work/old.sq" "$work/new.sq" && echo "squashfs images: identical" || echo "squashfs images: DIFFER"
cmp -s "$work/old.ero" "$work/new.ero" && echo "erofs images: identical" || echo "erofs images: DIFFER"
