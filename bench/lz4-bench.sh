#!/usr/bin/env bash
# Single-thread LZ4: microforge's pure-Java compressor (image.lz4.Lz4Compressor) vs the C reference, same
# input, same run. Prints CPU seconds, MB/s and the ratios (microforge / C: below 1.0 means microforge needs
# less CPU or writes fewer bytes).
#
#   bench/lz4-bench.sh                        # ~1 minute on a quiet 2-core machine
#   REPS=1 LZ4_BENCH_MB=8 bench/lz4-bench.sh  # quicker
#   LZ4_BENCH_FILES="a.bin b.bin" LEVELS="5 7 9" bench/lz4-bench.sh
#
# Samples: the first LZ4_BENCH_MB (16) MiB of the two largest distinct binaries of the bench corpus
# (bench/corpus.sh; libLLVM and node) and of the corpus' source/text files concatenated in path order.
# Comparisons:
#   block fast / hc9 : independent 4 MiB blocks (Lz4Compressor.compress) vs `lz4 -1` / `lz4 -9`
#   lz4-1-sqfs       : the same blocks with Lz4Fast (liblz4's parse; the SquashFS lz4 compressor) vs `lz4 -1`:
#                      the same bytes (the C size has the frame's few header bytes more)
#                      (-B7 -BI --no-frame-crc: 4 MiB independent blocks, no checksum); C sizes include
#                      the frame's few bytes of headers.
#   erofs fast / hcL : 4 KiB destSize clusters from 1 MiB segments as ErofsWriter cuts them
#                      (Lz4Compressor.compressDestSize) vs mkfs.erofs 1.5 -zlz4 / -zlz4hc (LZ4_compress_destSize /
#                      LZ4_compress_HC_destSize level 9) on a directory holding just the sample; clusters
#                      counted (mkfs: dump.erofs "On-disk size" / 4096). L: 9 and the EROFS default level
#                      (ErofsWriter.DEFAULT_HC_LEVEL), plus LEVELS.
# microforge's CPU time is the compressing thread's, best of REPS passes after an untimed warm-up pass that
# also decodes and compares every block (JVM start and JIT excluded). The C tools' CPU time is user+sys of the
# whole process (getrusage), best of REPS (process start and file I/O included: a few ms).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out=${MICROFORGE_BENCH_OUT:-$here/out}
reps=${REPS:-3}
mb=${LZ4_BENCH_MB:-16}
export LC_ALL=C

for t in lz4 mkfs.erofs dump.erofs java python3; do
  command -v "$t" >/dev/null || { echo "lz4-bench: $t not found (tests/install-deps.sh)" >&2; exit 1; }
done
jar="$top/target/microforge.jar"
if [ ! -f "$jar" ]; then
  (cd "$top" && mvn -o -q -B -DskipTests package)
fi
deflevel=$(sed -n 's/.*DEFAULT_HC_LEVEL = \([0-9]*\);.*/\1/p' "$top/src/main/java/dev/microforge/image/erofs/ErofsWriter.java")
levels=$(printf '%s\n' 9 "$deflevel" ${LEVELS:-} | awk 'NF && !seen[$0]++' | tr '\n' ' ')

work="$out/lz4-bench"
mkdir -p "$work"
samples=()
if [ -n "${LZ4_BENCH_FILES:-}" ]; then
  for f in $LZ4_BENCH_FILES; do
    s="$work/$(basename "$f").head"
    head -c "${mb}M" "$f" > "$s"
    samples+=("$s")
  done
else
  "$here/corpus.sh" >/dev/null
  # the two largest files whose names differ by more than version digits
  mapfile -t big < <(xargs -a "$out/corpus.paths" -I{} find {} -type f -size +8M -printf '%s %p\n' | sort -k1,1nr -k2 \
    | awk '{ n = $2; sub(/.*\//, "", n); gsub(/[0-9.]+/, "", n); if (!seen[n]++) print $2 }' | head -n 2)
  for f in "${big[@]}"; do
    s="$work/$(basename "$f").head"
    [ -s "$s" ] || head -c "${mb}M" "$f" > "$s"
    samples+=("$s")
  done
  s="$work/text.head"
  if [ ! -s "$s" ]; then
    xargs -a "$out/corpus.paths" -I{} find {} -type f \( -name '*.py' -o -name '*.pm' -o -name '*.pl' -o -name '*.h' \
      -o -name '*.html' -o -name '*.txt' -o -name '*.c' -o -name '*.sh' \) | sort | xargs cat 2>/dev/null | head -c "${mb}M" > "$s" || true
  fi
  samples+=("$s")
fi

# "cpu" (user+sys, microsecond resolution from getrusage: /usr/bin/time rounds to 10 ms) of one run, best of $reps
best_cpu() {
  python3 - "$reps" "$@" <<'PY' || { echo "lz4-bench: failed: $*" >&2; exit 1; }
import resource, subprocess, sys
reps, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(reps):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    best = c if best is None else min(best, c)
print("%.4f" % best)
PY
}

modes="block-0,sqfs-0,block-9,dest-0"
for l in $levels; do modes="$modes,dest-$l"; done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); reps $reps; samples of ${mb} MiB; $(lz4 --version 2>&1 | head -1 | sed 's/\*//g;s/^ *//')"
java -cp "$jar" "$here/Lz4Bench.java" "$reps" "$modes" "${samples[@]}" > "$work/mf.txt"

printf '%-24s %-9s %8s %8s %8s %8s %6s %11s %11s %6s\n' sample mode mf_cpu c_cpu mf_MB/s c_MB/s cpu_x mf_bytes c_bytes size_x
: > "$work/rows.txt"
for s in "${samples[@]}"; do
  name=$(basename "$s")
  size=$(stat -c %s "$s")
  row() { # mode mfmode c_cpu c_bytes
    local m
    m=$(awk -v n="$name" -v md="$2" '$1 == n && $2 == md' "$work/mf.txt")
    [ -n "$m" ] || { echo "lz4-bench: no result for $name $2" >&2; exit 1; }
    local mcpu mbytes
    mcpu=$(echo "$m" | cut -d' ' -f3)
    mbytes=$(echo "$m" | cut -d' ' -f5)
    echo "$name $1 $mcpu $3 $mbytes $4 $size" >> "$work/rows.txt"
    awk -v n="${name:0:24}" -v md="$1" -v mc="$mcpu" -v cc="$3" -v mbt="$mbytes" -v cb="$4" -v sz="$size" 'BEGIN {
      printf "%-24s %-9s %8.3f %8.3f %8.1f %8.1f %6.2f %11d %11d %6.3f\n", n, md, mc, cc, sz / 1e6 / mc, sz / 1e6 / cc, mc / cc, mbt, cb, mbt / cb }'
  }
  for l in 1 9; do
    c=$(best_cpu lz4 "-$l" -q -f -B7 -BI --no-frame-crc "$s" "$work/c.lz4")
    row "lz4-$l" "block-$([ $l = 1 ] && echo 0 || echo 9)" "$c" "$(stat -c %s "$work/c.lz4")"
    if [ "$l" = 1 ]; then
      row "lz4-1-sqfs" sqfs-0 "$c" "$(stat -c %s "$work/c.lz4")"
    fi
  done
  d="$work/dir"
  rm -rf "$d"
  mkdir -p "$d"
  ln "$s" "$d/f" 2>/dev/null || cp "$s" "$d/f"
  for z in lz4 lz4hc; do
    c=$(best_cpu mkfs.erofs "-z$z" -T0 --all-root --quiet "$work/c.img" "$d")
    disk=$(dump.erofs --path=/f "$work/c.img" | sed -n 's/.*On-disk size: \([0-9]*\).*/\1/p')
    if [ "$z" = lz4 ]; then
      row "erofs-0" dest-0 "$c" "$disk"
    else
      for l in $levels; do row "erofs-$l" "dest-$l" "$c" "$disk"; done
    fi
  done
done
echo "all samples (sums):"
awk '{ k = $2; mc[k] += $3; cc[k] += $4; mb[k] += $5; cb[k] += $6; sz[k] += $7; if (!(k in o)) { o[k] = ++n; ks[n] = k } }
  END { for (i = 1; i <= n; i++) { k = ks[i]
    printf "%-24s %-9s %8.3f %8.3f %8.1f %8.1f %6.2f %11d %11d %6.3f\n", "total", k, mc[k], cc[k], sz[k] / 1e6 / mc[k], sz[k] / 1e6 / cc[k], mc[k] / cc[k], mb[k], cb[k], mb[k] / cb[k] } }' "$work/rows.txt"
echo "(erofs-L rows compare microforge at level L with mkfs.erofs -zlz4hc, which is lz4hc level 9; erofs bytes are 4 KiB clusters)"
