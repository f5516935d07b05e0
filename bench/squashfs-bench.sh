#!/usr/bin/env bash
# SquashFS: microforge vs mksquashfs -processors 2 and gensquashfs -j 2 on the corpus (bench/corpus.sh),
# per compressor, in one run: zstd, xz (1 MiB blocks, as nixpkgs' make-squashfs.nix), gzip, lz4.
# Every tool at its default settings (zstd 15; xz: mksquashfs and gensquashfs level 6, microforge per block:
# x86 code with BCJ at level 4, text-like blocks level 6, sparse and binary blocks level 3; gzip 9; lz4 fast),
# all-root, no hard links.
# Prints wall time, CPU time (user+sys) and image size per tool, and microforge's ratios to the fastest and
# to the smallest peer (below 1.0: microforge is faster / smaller).
#
#   bench/squashfs-bench.sh                          # all four compressors
#   SQUASHFS_BENCH_COMPRESSORS="zstd lz4" bench/squashfs-bench.sh
#   SQUASHFS_BENCH_REPEAT=3 ...                      # best of 3 runs per tool (alternating)
#   SQUASHFS_BENCH_SUBSET='host-(bin|perl)' ...      # only the corpus paths whose names match (ERE), for a
#                                                    # quicker run on a busy machine (say so with the figures)
#   SQUASHFS_BENCH_GENSQUASHFS="zstd lz4" ...        # run gensquashfs only for these compressors (default: all);
#                                                    # the ratios then compare with mksquashfs alone for the others
#   SQUASHFS_BENCH_TREE=/usr/share ...               # a plain directory instead of the corpus: copied under the
#                                                    # work directory as one store path <hash>-<name> (microforge
#                                                    # reads it with --real-store; mksquashfs -keep-as-directory)
#   SQUASHFS_BENCH_XZ_REFERENCE=1 ...                # xz: two reference rows, not counted in the ratios:
#                                                    # ref-microforge-l6 (--level 6 --xz-bcj none: mksquashfs'
#                                                    # settings) and ref-mksquashfs-bcj (-Xbcj x86, which compresses
#                                                    # every block with and without BCJ and keeps the smaller)
#
# With REPEAT > 1, also the paired ratios microforge / mksquashfs of each round (runs alternate) and their median.
#
# Time on a quiet 2-core machine, full corpus: lz4 about 20 s for the three tools, gzip about 5 min, zstd about
# 4-5 min, xz about 12 min (the three tools); SQUASHFS_BENCH_GENSQUASHFS="zstd lz4" saves about 6 min.
# microforge runs through its launcher (target/microforge), i.e. with the JVM options a user gets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${MICROFORGE_BENCH_OUT:-$here/out}
compressors=${SQUASHFS_BENCH_COMPRESSORS:-zstd xz gzip lz4}
gen_for=${SQUASHFS_BENCH_GENSQUASHFS-zstd xz gzip lz4}
repeat=${SQUASHFS_BENCH_REPEAT:-1}
threads=2

for t in mksquashfs gensquashfs unsquashfs java; do
  command -v "$t" >/dev/null || { echo "squashfs-bench: $t not found (tests/install-deps.sh installs it)" >&2; exit 1; }
done
tree=${SQUASHFS_BENCH_TREE:-}
if [ -n "$tree" ]; then
  [ -d "$tree" ] || { echo "squashfs-bench: SQUASHFS_BENCH_TREE=$tree is not a directory" >&2; exit 1; }
else
  MICROFORGE_BENCH_OUT=$out bash "$here/corpus.sh" >/dev/null
  closure=$out/corpus.closure
  mapfile -t paths < "$out/corpus.paths"
fi
[ -f "$root/target/microforge.jar" ] || (cd "$root" && mvn -q -B -DskipTests package)

work=$(mktemp -d "${TMPDIR:-/tmp}/squashfs-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
keep_dir=()
if [ -n "$tree" ]; then
  # the tree as one store path: its copy is what every tool reads (and gensquashfs' stage)
  name=$(basename "$(cd "$tree" && pwd)")
  mkdir "$work/store"
  cp -a "$tree" "$work/store/00000000000000000000000000000000-$name"
  paths=("$work/store/00000000000000000000000000000000-$name")
  printf '/nix/store/00000000000000000000000000000000-%s\n\n0\n' "$name" > "$work/tree.closure"
  closure_args=(--closure "$work/tree.closure" --closure-format export-references-graph --real-store "$work/store")
  keep_dir=(-keep-as-directory)
elif [ -n "${SQUASHFS_BENCH_SUBSET:-}" ]; then
  mapfile -t paths < <(printf '%s\n' "${paths[@]}" | grep -E -- "$SQUASHFS_BENCH_SUBSET")
  [ ${#paths[@]} -gt 0 ] || { echo "squashfs-bench: no corpus path matches $SQUASHFS_BENCH_SUBSET" >&2; exit 1; }
  # the subset as its own closure (references left out: the image holds exactly these paths)
  for p in "${paths[@]}"; do printf '%s\n\n0\n' "$p"; done > "$work/subset.closure"
  closure_args=(--closure "$work/subset.closure" --closure-format export-references-graph)
else
  closure_args=(--closure "$closure")
fi
# the launcher and what it finds beside the jar (JIT profiles, CDS archives), insulated from rebuilds
cp "$root/target/microforge.jar" "$work/microforge.jar"
cp "$root/target/microforge" "$work/microforge"
for extra in "$root"/target/*.json; do
  if [ -f "$extra" ]; then cp "$extra" "$work/"; fi
done
# the class-data sharing archive holds the jar's path: one for the copy (as `mvn package` writes it for target/)
if [ -f "$root/target/microforge.jsa" ]; then
  sh "$root/src/main/cds/train.sh" "${JAVA:-java}" "$work/microforge.jar" "$work/microforge.jsa"
fi
# gensquashfs packs one directory: a copy of the store paths (same bytes, same page cache state)
# (not made when gensquashfs runs for none of the compressors)
stage=$work/stage
if [ -n "$tree" ]; then
  stage=$work/store
elif [ -n "$(echo $gen_for)" ]; then
  mkdir "$stage"
  cp -a "${paths[@]}" "$stage/"
else
  mkdir "$stage"
fi
# warm the page cache for everybody
find "${paths[@]}" "$stage" -type f -print0 | xargs -0 cat > /dev/null

echo "input: ${#paths[@]} store paths, $(du -sbc "${paths[@]}" | tail -1 | cut -f1) bytes on disk${tree:+ (a copy of $tree)}${SQUASHFS_BENCH_SUBSET:+ (subset $SQUASHFS_BENCH_SUBSET of the corpus)}; $(nproc) CPUs; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"

# synced IMAGE CMD...: a peer run followed by sync of its image. microforge fsyncs its image before renaming it
# into place (util.AtomicOutput); the peers do not, so their time includes the sync (as in bench/erofs-bench.sh)
synced=(bash -c '"${@:2}" && sync "$1"' synced)
# measure NAME IMAGE CMD...: runs CMD, appends "NAME wall-seconds cpu-seconds image-bytes round" to $work/times
measure() {
  local name=$1 img=$2; shift 2
  rm -f "$img"
  local t0 t1 c
  t0=$(date +%s.%N)
  if [ "$1" = synced ]; then shift; set -- "${synced[@]}" "$@"; fi
  if ! /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null 2>"$work/err" || [ ! -s "$img" ]; then
    echo "squashfs-bench: $name failed:" >&2; cat "$work/err" >&2; exit 1
  fi
  t1=$(date +%s.%N)
  c=$(tail -1 "$work/cpu" | awk '{printf "%.2f", $1 + $2}')
  echo "$name $(echo "$t1 - $t0" | bc) $c $(stat -c %s "$img") $r" >> "$work/times"
  echo "  $(date -u +%T) $name done ($(tail -1 "$work/times" | cut -d' ' -f2-3) s wall/CPU)" >&2
}

printf '\n| compressor | tool | wall s | CPU s | CPU/wall | image bytes |\n|---|---|---:|---:|---:|---:|\n'
summary=""
for c in $compressors; do
  bs=131072
  if [ "$c" = xz ]; then bs=1048576; fi
  : > "$work/times"
  for ((r = 0; r < repeat; r++)); do
    measure microforge "$work/mf.img" "$work/microforge" \
      image build --type squashfs "${closure_args[@]}" --threads $threads --compression "$c" --block-size "$bs" -o "$work/mf.img"
    measure mksquashfs "$work/mk.img" synced "$work/mk.img" mksquashfs "${paths[@]}" "$work/mk.img" -comp "$c" -b "$bs" -processors $threads "${keep_dir[@]}" \
      -all-root -no-hardlinks -noappend -quiet -no-progress
    if [ "$c" = xz ] && [ -n "${SQUASHFS_BENCH_XZ_REFERENCE:-}" ]; then
      measure ref-microforge-l6 "$work/ref.img" "$work/microforge" image build --type squashfs "${closure_args[@]}" \
        --threads $threads --compression xz --level 6 --xz-bcj none --block-size "$bs" -o "$work/ref.img"
      measure ref-mksquashfs-bcj "$work/ref.img" synced "$work/ref.img" mksquashfs "${paths[@]}" "$work/ref.img" -comp xz "${keep_dir[@]}" \
        -Xbcj x86 -b "$bs" -processors $threads -all-root -no-hardlinks -noappend -quiet -no-progress
    fi
    case " $gen_for " in *" $c "*) ;; *) continue ;; esac
    measure gensquashfs "$work/gen.img" synced "$work/gen.img" gensquashfs -D "$stage" -c "$c" -b "$bs" -j $threads --all-root -q -f "$work/gen.img"
  done
  # best (lowest wall) run per tool
  sort -k1,1 -k2,2n "$work/times" | awk '!seen[$1]++' > "$work/best"
  while read -r name wall cpu size _; do
    printf '| %s | %s | %.1f | %.1f | %.2f | %d |\n' "$c" "$name" "$wall" "$cpu" "$(awk -v c="$cpu" -v w="$wall" 'BEGIN {print (w > 0 ? c / w : 0)}')" "$size"
  done < "$work/best"
  line=$(awk -v c="$c" '
    $1 == "microforge" {mw = $2; mc = $3; ms = $4; next}
    $1 ~ /^ref-/ {next}
    {if (fw == "" || $2 < fw) {fw = $2; fn = $1}; if (fc == "" || $3 < fc) {fc = $3; fcn = $1}; if (sz == "" || $4 < sz) {sz = $4; sn = $1}}
    function ratio(a, b) {return b > 0 ? sprintf("%.2fx", a / b) : "n/a"}
    END {printf "%s: wall %s fastest peer (%s), CPU %s least-CPU peer (%s), size %.3fx smallest peer (%s)",
         c, ratio(mw, fw), fn, ratio(mc, fc), fcn, ms / sz, sn}' "$work/best")
  summary+="$line"$'\n'
  if [ "$repeat" -gt 1 ]; then
    # paired: each round's microforge run against the mksquashfs run right after it
    summary+=$(awk -v c="$c" -v rounds_n="$repeat" '
      $1 == "microforge" {mw[$5] = $2; mc[$5] = $3; ms[$5] = $4}
      $1 == "mksquashfs" {kw[$5] = $2; kc[$5] = $3; ks[$5] = $4}
      function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      END {
        for (r = 0; r < rounds_n; r++) if ((r in mw) && (r in kw)) {n++; w[n] = mw[r] / kw[r]; p[n] = mc[r] / kc[r]; s = ms[r] / ks[r]; rounds = rounds sprintf(" %.3f", w[n])}
        printf "%s paired with mksquashfs, %d rounds: wall%s -> median %.3fx; CPU median %.3fx; size %.4fx", c, n, rounds, median(w, n), median(p, n), s
      }' "$work/times")$'\n'
  fi
done
printf '\nmicroforge / best peer, per compressor (targets: wall <= 1.0x, size <= 1.01x):\n%s' "$summary"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
