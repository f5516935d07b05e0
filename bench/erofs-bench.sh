#!/usr/bin/env bash
# microforge vs mkfs.erofs (erofs-utils 1.5) on the bench corpus (bench/corpus.sh, >= 1 GiB), same run:
# uncompressed, lz4 and lz4hc. Prints wall time and image size of each and the ratios (microforge / peer:
# below 1.0 means microforge is faster or smaller). Each tool runs RUNS times (alternating); best time kept.
#
#   bench/erofs-bench.sh                 # RUNS=2 THREADS=2 by default
#   RUNS=3 THREADS=2 LEVELS="7 9" bench/erofs-bench.sh
#   RUNS=3 STAT=median bench/erofs-bench.sh   # median wall and CPU time of the runs instead of the best
#   EROFS_BENCH_SUBSET='host-(bin|man)' VARIANTS="zstd lzma" bench/erofs-bench.sh   # a part of the corpus
#
# mkfs.erofs reads a staging copy of the closure's store paths (cp -a, no hard links) because it can only
# take one directory; microforge reads the closure from the store itself. Both are warm in the page cache
# (one untimed run of each first). The peers' flags are those of nixpkgs/microvm.nix: -T 0 --all-root
# (-L is not in mkfs.erofs 1.5), plus -zlz4 / -zlz4hc; variant "microvm" is microvm.nix's default
# (-zlz4hc -Eztailpacking -Efragments vs --tail-packing --fragments; mkfs.erofs 1.5 ignores -Efragments);
# "ztail" (-Eztailpacking) and "pc64k" (-C65536, big pclusters) are extra variants (VARIANTS=...).
# microforge fsyncs its image before renaming it into place; so that both deliver a durable image, the
# peer's time includes `sync FILE` of its image.
# Besides wall time the table gives CPU time (user+sys): on a shared machine wall time mostly measures the
# other load, CPU time what each tool costs; and peak RSS (the largest of the runs, MiB; for the peer, that of
# mkfs.erofs or mksquashfs, not of sync).
# The zstd, lzma and deflate variants (VARIANTS="zstd zstd-plain lzma deflate") compare against SquashFS with
# the same codec, level and block size (mksquashfs -comp zstd/xz/gzip -b 128K; Debian 12's mkfs.erofs 1.5 has
# none of them): EROFS 128 KiB pclusters with --tail-packing --fragments (the counterpart of SquashFS' tail
# fragments; "zstd-plain" without them). Levels: ZSTD_LEVEL (15), DEFLATE_LEVEL (9); lzma is preset 6 on both
# sides (mksquashfs' xz has no level option; its dictionary is the block size). The peer's columns are then
# mksquashfs'.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out=${MICROFORGE_BENCH_OUT:-$here/out}
runs=${RUNS:-2}
threads=${THREADS:-2}
levels=${LEVELS:-}
export LC_ALL=C

command -v mkfs.erofs >/dev/null || { echo "erofs-bench: mkfs.erofs not found (tests/install-deps.sh)" >&2; exit 1; }
"$here/corpus.sh" >/dev/null
closure="$out/corpus.closure"
mf=${MICROFORGE:-$top/target/microforge}   # MICROFORGE: another launcher (with its jar beside it)
if [ ! -x "$mf" ] || [ ! -f "$(dirname "$mf")/microforge.jar" ]; then
  (cd "$top" && mvn -o -q -B -DskipTests package)
fi

stage="$out/erofs-stage"
if [ ! -f "$stage.done" ] || [ "$(cat "$stage.done")" != "$(sha256sum < "$out/corpus.paths")" ]; then
  rm -rf "$stage"
  mkdir -p "$stage"
  xargs -a "$out/corpus.paths" cp -a -t "$stage"
  sha256sum < "$out/corpus.paths" > "$stage.done"
fi
work=${EROFS_BENCH_WORK:-$out/erofs-bench}   # EROFS_BENCH_WORK: another directory for images and timings
mkdir -p "$work"
closure_args=(--closure "$closure")
if [ -n "${EROFS_BENCH_SUBSET:-}" ]; then
  # only the corpus paths whose names match (ERE): their own closure (references left out) and a staging
  # tree of hard links into the full one
  mapfile -t paths < <(grep -E -- "$EROFS_BENCH_SUBSET" "$out/corpus.paths")
  [ ${#paths[@]} -gt 0 ] || { echo "erofs-bench: no corpus path matches $EROFS_BENCH_SUBSET" >&2; exit 1; }
  for p in "${paths[@]}"; do printf '%s\n\n0\n' "$p"; done > "$work/subset.closure"
  closure_args=(--closure "$work/subset.closure" --closure-format export-references-graph)
  rm -rf "$work/subset-stage"
  mkdir -p "$work/subset-stage"
  for p in "${paths[@]}"; do cp -al "$stage/$(basename "$p")" "$work/subset-stage/"; done
  stage="$work/subset-stage"
fi

now() { date +%s.%N; }
# "wall cpu rss" of one run of a command (cpu = user + sys of it and its children; rss = the largest peak resident
# set of it and its children, MiB)
timed() {
  /usr/bin/time -f "%e %U %S %M" -o "$work/last.time" "$@" >/dev/null 2>"$work/last.err" \
    || { cat "$work/last.err" >&2; echo "erofs-bench: failed: $*" >&2; exit 1; }
  awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4 / 1024}' "$work/last.time"
}
med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
max() { if [ -z "$1" ] || [ "$2" -gt "$1" ]; then echo "$2"; else echo "$1"; fi; }
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
peer_build() { rm -f "$2"; mkfs.erofs "${@:3}" "$2" "$1" && sync "$2"; }
sqfs_build() { rm -f "$2"; mksquashfs "$1" "$2" -noappend -all-root -no-xattrs -quiet -no-progress "${@:3}" >/dev/null && sync "$2"; }
zl=${ZSTD_LEVEL:-15}
dl=${DEFLATE_LEVEL:-9}

echo "corpus: $(grep -E '^(members|nar bytes|entries)' "$out/corpus.info" | tr '\n' ' ')${EROFS_BENCH_SUBSET:+; subset $EROFS_BENCH_SUBSET: ${#paths[@]} paths, $(du -sb "$stage" | cut -f1) bytes}"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); microforge --threads $threads; runs: $runs (${STAT:-best})"
printf '%-9s %8s %8s %6s %8s %8s %6s %13s %13s %6s %7s %7s\n' variant mf_wall mkfs_wall wall_x mf_cpu mkfs_cpu cpu_x \
  mf_bytes mkfs_bytes size_x mf_rss mkfs_rss

variants="${VARIANTS:-none lz4 lz4hc microvm}"   # VARIANTS="none lz4" for a quicker run; also: ztail pc64k
for l in $levels; do variants="$variants lz4hc-$l"; done
for v in $variants; do
  builder=peer_build
  case $v in
    zstd) builder=sqfs_build; peer=(-comp zstd -Xcompression-level "$zl" -b 128K -processors "$threads")
      ours=(--compression zstd --level "$zl" --pcluster 128K --tail-packing --fragments) ;;
    zstd-plain) builder=sqfs_build; peer=(-comp zstd -Xcompression-level "$zl" -b 128K -processors "$threads")
      ours=(--compression zstd --level "$zl" --pcluster 128K) ;;
    lzma) builder=sqfs_build; peer=(-comp xz -b 128K -processors "$threads")
      ours=(--compression lzma --level 6 --pcluster 128K --tail-packing --fragments) ;;
    deflate) builder=sqfs_build; peer=(-comp gzip -Xcompression-level "$dl" -b 128K -processors "$threads")
      ours=(--compression deflate --level "$dl" --pcluster 128K --tail-packing --fragments) ;;
    none) peer=(); ours=(--compression none) ;;
    lz4) peer=(-zlz4); ours=(--compression lz4) ;;
    lz4hc) peer=(-zlz4hc); ours=(--compression lz4hc) ;;
    lz4hc-*) peer=(-zlz4hc); ours=(--compression lz4hc --level "${v#lz4hc-}") ;;
    # microvm.nix's default store disk; mkfs.erofs 1.5 accepts -Efragments but ignores it (fragments arrived
    # in erofs-utils 1.6), so its image has ztailpacking only
    microvm) peer=(-zlz4hc -Eztailpacking -Efragments); ours=(--compression lz4hc --tail-packing --fragments) ;;
    ztail) peer=(-zlz4hc -Eztailpacking); ours=(--compression lz4hc --tail-packing) ;;
    pc64k) peer=(-zlz4hc -C65536); ours=(--compression lz4hc --pcluster 64K) ;;
  esac
  mfimg="$work/mf-$v.erofs"
  peerimg="$work/mkfs-$v.erofs"
  mfcmd=("$mf" image build --type erofs "${ours[@]}" --threads "$threads" "${closure_args[@]}" -o "$mfimg")
  if [ "$builder" = peer_build ]; then peer+=(-T 0 --all-root --quiet); else peerimg="$work/sqfs-$v.squashfs"; fi
  peercmd=("$builder" "$stage" "$peerimg" "${peer[@]}")
  # warm-up (untimed) of both (WARMUP=0 skips it), then alternate
  if [ "${WARMUP:-1}" != 0 ]; then
    "${mfcmd[@]}" >/dev/null 2>&1 || true
    "${peercmd[@]}" >/dev/null 2>&1 || true
  fi
  bm=""; bp=""; cm=""; cp=""; rssm=""; rssp=""; wms=(); wps=(); cms=(); cps=()
  for ((i = 0; i < runs; i++)); do
    rm -f "$mfimg"; read -r w c r < <(timed "${mfcmd[@]}"); bm=$(min "$bm" "$w"); cm=$(min "$cm" "$c"); rssm=$(max "$rssm" "$r")
    wms+=("$w"); cms+=("$c")
    read -r w c r < <(timed bash -c "$(declare -f "$builder"); $builder \"\$@\"" _ "$stage" "$peerimg" "${peer[@]}")
    bp=$(min "$bp" "$w"); cp=$(min "$cp" "$c"); rssp=$(max "$rssp" "$r")
    wps+=("$w"); cps+=("$c")
  done
  if [ "${STAT:-best}" = median ]; then
    bm=$(med "${wms[@]}"); bp=$(med "${wps[@]}"); cm=$(med "${cms[@]}"); cp=$(med "${cps[@]}")
  fi
  sm=$(stat -c %s "$mfimg"); sp=$(stat -c %s "$peerimg")
  printf '%-9s %8.2f %8.2f %6.2f %8.2f %8.2f %6.2f %13d %13d %6.3f %7d %7d\n' "$v" "$bm" "$bp" "$(echo "$bm / $bp" | bc -l)" \
    "$cm" "$cp" "$(echo "$cm / $cp" | bc -l)" "$sm" "$sp" "$(echo "$sm / $sp" | bc -l)" "$rssm" "$rssp"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
