#!/usr/bin/env bash
# Incremental store disks (issue 16): `image build --reuse OLD` against a fresh build, on the corpus
# (bench/corpus.sh). For each compressor: a fresh image of the corpus (OLD), then three rebuilds, each timed
# fresh and with --reuse OLD, and the two images compared with cmp:
#   none  the same closure (targets: incremental <= 0.05x fresh)
#   1%    one store path of about 1% of the NAR bytes replaced by another of the same size (<= 0.1x)
#   10%   one store path of about 10% replaced (<= 0.25x)
# A replaced path is a copy of the original under another hash part with one byte in every 64 KiB of every file
# changed (so no data block of it is in OLD: --reuse finds blocks by content), and another narHash in the closure
# (a new version of the package); the store is staged under $work with hard links (--real-store), so nothing is
# added to /nix/store. INCREMENTAL_BENCH_EDIT=first changes only the first byte of every file (then the blocks
# after a file's first are found in OLD).
#
#   bench/incremental-bench.sh                               # squashfs zstd (128 KiB blocks), xz (1 MiB blocks)
#                                                            # and erofs lz4hc (4 KiB pclusters)
#   INCREMENTAL_BENCH_COMPRESSORS=zstd bench/incremental-bench.sh
#   INCREMENTAL_BENCH_COMPRESSORS="erofs-lz4hc erofs-zstd erofs-lz4hc+frag" ...  # erofs rows (erofs-C: --type
#                                                            # erofs --compression C; +frag: --tail-packing
#                                                            # --fragments)
#   INCREMENTAL_BENCH_BASE_JAR=/path/to/older/microforge.jar ...  # also the size of that jar's fresh image
#                                                            # (the per-path layout's cost against it)
#   INCREMENTAL_BENCH_FRESH_ONCE=1 ...                       # one fresh build per compressor (of the unchanged
#                                                            # closure) is the reference for all three rows,
#                                                            # and only that row is compared with cmp (a busy
#                                                            # machine; SquashfsReuseTest proves the equality)
#
# Time on a quiet 2-core machine: about 5 min for zstd and 12 min for xz (four fresh builds each).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${MICROFORGE_BENCH_OUT:-$here/out}
compressors=${INCREMENTAL_BENCH_COMPRESSORS:-zstd xz erofs-lz4hc}
threads=${INCREMENTAL_BENCH_THREADS:-2}
MICROFORGE_BENCH_OUT=$out bash "$here/corpus.sh" >/dev/null
[ -f "$root/target/microforge.jar" ] || (cd "$root" && mvn -q -B -DskipTests package)

work=$(mktemp -d "${TMPDIR:-/tmp}/incremental-bench.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp "$root/target/microforge.jar" "$root/target/microforge" "$work/"
for extra in "$root"/target/*.json "$root"/target/*.jsa; do
  if [ -f "$extra" ]; then cp "$extra" "$work/"; fi
done
mapfile -t paths < "$out/corpus.paths"
store_dir=$(dirname "${paths[0]}")
mkdir "$work/store"
cp -al "${paths[@]}" "$work/store/"
total=$(awk 'length(prev) == 64 && prev ~ /^[0-9a-f]+$/ {s += $0} {prev = $0} END {printf "%d", s}' "$out/corpus.closure")

# pick PERCENT: the store path whose narSize is closest to PERCENT% of the NAR bytes
pick() {
  awk -v want="$(( total * $1 / 100 ))" '
    /^[0-9]+$/ && l1 ~ /^[0-9a-f]+$/ && length(l1) == 64 && l2 ~ /^\// {
      d = $0 - want; if (d < 0) d = -d; if (best == "" || d < bd) {best = l2; bd = d}
    }
    {l2 = l1; l1 = $0}
    END {print best}' "$out/corpus.closure"
}
# replace PATH NAME: stages a changed copy of store path PATH and writes closure NAME with it instead
replace() {
  local old=$1 base new
  base=$(basename "$old")
  # another hash part: its first character moved along the nix32 alphabet
  local first=${base:0:1} alphabet=0123456789abcdfghijklmnpqrsvwxyz
  local i=${alphabet%%"$first"*}
  new=$store_dir/${alphabet:$(( (${#i} + 1) % 32 )):1}${base:1}
  cp -a "$old" "$work/store/$(basename "$new")"
  chmod -R u+w "$work/store/$(basename "$new")"
  local step=65536
  if [ "${INCREMENTAL_BENCH_EDIT:-}" = first ]; then step=0; fi
  find "$work/store/$(basename "$new")" -type f -size +0 -print0 | STEP=$step perl -0 -ne '
    chomp; my $f = $_; my $size = -s $f; my $step = $ENV{STEP} || $size;
    open(my $h, "+<:raw", $f) or die "$f: $!";
    for (my $p = 0; $p < $size; $p += $step) {
      seek($h, $p, 0); read($h, my $c, 1); seek($h, $p, 0); print $h chr(ord($c) ^ 0x5a);
    }
    close($h) or die "$f: $!";'

  awk -v old="$old" -v new="$new" '
    $0 == old {print new; changed = 1; next}
    changed && length($0) == 64 {s = ""; for (k = 64; k > 0; k--) s = s substr($0, k, 1); print s; changed = 0; next}
    {changed = 0; print}' "$out/corpus.closure" > "$work/$2.closure"
  echo "$new"
}
# flags ROW BLOCK: the image options of a row (squashfs C, or erofs-C[+frag])
flags() {
  case $1 in
    erofs-*) local c=${1#erofs-}
      echo --type erofs --compression "${c%+frag}"
      if [ "${c%+frag}" != "$c" ]; then echo --tail-packing --fragments; fi ;;
    *) echo --type squashfs --compression "$1" --block-size "$2" ;;
  esac
}
build() { # build IMAGE CLOSURE ROW BLOCK [--reuse OLD]: prints the wall seconds
  local img=$1 closure=$2 c=$3 bs=$4; shift 4
  rm -f "$img"
  local t0 t1
  t0=$(date +%s.%N)
  # shellcheck disable=SC2046
  "$work/microforge" image build $(flags "$c" "$bs") --closure "$closure" --real-store "$work/store" --threads "$threads" \
    -o "$img" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

cp "$out/corpus.closure" "$work/none.closure"
p1=$(pick 1)
p10=$(pick 10)
replace "$p1" one >/dev/null
replace "$p10" ten >/dev/null
find "$work/store" -type f -print0 | xargs -0 cat > /dev/null
echo "input: ${#paths[@]} store paths, $total NAR bytes; 1%: $(basename "$p1"), 10%: $(basename "$p10"); $(nproc) CPUs, --threads $threads; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| compressor | change | fresh s | incremental s | ratio | target | identical |\n|---|---|---:|---:|---:|---:|---|\n'
for c in $compressors; do
  bs=131072
  if [ "$c" = xz ]; then bs=1048576; fi
  build "$work/old.img" "$work/none.closure" "$c" "$bs" > "$work/t-old"
  for change in none one ten; do
    case $change in none) label="no change"; target=0.05 ;; one) label="1% replaced"; target=0.10 ;; ten) label="10% replaced"; target=0.25 ;; esac
    if [ "$change" = none ] || [ -n "${INCREMENTAL_BENCH_FRESH_ONCE:-}" ]; then
      fresh=$(cat "$work/t-old"); cp "$work/old.img" "$work/fresh.img"
    else fresh=$(build "$work/fresh.img" "$work/$change.closure" "$c" "$bs"); fi
    inc=$(build "$work/inc.img" "$work/$change.closure" "$c" "$bs" --reuse "$work/old.img")
    same=no
    if [ "$change" != none ] && [ -n "${INCREMENTAL_BENCH_FRESH_ONCE:-}" ]; then same="(not compared)"
    elif cmp -s "$work/fresh.img" "$work/inc.img"; then same=yes; fi
    printf '| %s | %s | %.1f | %.2f | %.3fx | %s | %s |\n' "$c" "$label" "$fresh" "$inc" \
      "$(echo "scale=4; $inc / $fresh" | bc)" "$target" "$same"
  done
  size=$(stat -c %s "$work/old.img")
  if [ -n "${INCREMENTAL_BENCH_BASE_JAR:-}" ]; then
    rm -f "$work/base.img"
    # shellcheck disable=SC2046
    java -jar "$INCREMENTAL_BENCH_BASE_JAR" image build $(flags "$c" "$bs") --closure "$work/none.closure" \
      --real-store "$work/store" --threads "$threads" -o "$work/base.img" >/dev/null 2>&1
    base=$(stat -c %s "$work/base.img")
    echo "  $c: per-path layout $size bytes, base $base bytes: $(echo "scale=5; $size / $base" | bc)x" >&2
  else
    echo "  $c: fresh image $size bytes" >&2
  fi
  rm -f "$work"/*.img
done
