#!/usr/bin/env bash
# microforge vs mkfs.erofs (erofs-utils 1.5) on the bench corpus (bench/corpus.sh, >= 1 GiB), same run:
# uncompressed, lz4 and lz4hc. Prints wall time and image size of each and the ratios (microforge / peer:
# below 1.0 means microforge is faster or smaller). Each tool runs RUNS times (alternating); best time kept.
#
#   bench/erofs-bench.sh                 # RUNS=2 THREADS=2 by default
#   RUNS=3 THREADS=2 LEVELS="7 9" bench/erofs-bench.sh
#   RUNS=3 STAT=median bench/erofs-bench.sh   # median wall and CPU time of the runs instead of the best
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
# mkfs.erofs, not of sync).
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
mf="$top/target/microforge"
if [ ! -x "$mf" ] || [ ! -f "$top/target/microforge.jar" ]; then
  (cd "$top" && mvn -o -q -B -DskipTests package)
fi

stage="$out/erofs-stage"
if [ ! -f "$stage.done" ] || [ "$(cat "$stage.done")" != "$(sha256sum < "$out/corpus.paths")" ]; then
  rm -rf "$stage"
  mkdir -p "$stage"
  xargs -a "$out/corpus.paths" cp -a -t "$stage"
  sha256sum < "$out/corpus.paths" > "$stage.done"
fi
work="$out/erofs-bench"
mkdir -p "$work"

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

echo "corpus: $(grep -E '^(members|nar bytes|entries)' "$out/corpus.info" | tr '\n' ' ')"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); microforge --threads $threads; runs: $runs (${STAT:-best})"
printf '%-9s %8s %8s %6s %8s %8s %6s %13s %13s %6s %7s %7s\n' variant mf_wall mkfs_wall wall_x mf_cpu mkfs_cpu cpu_x \
  mf_bytes mkfs_bytes size_x mf_rss mkfs_rss

variants="${VARIANTS:-none lz4 lz4hc microvm}"   # VARIANTS="none lz4" for a quicker run; also: ztail pc64k
for l in $levels; do variants="$variants lz4hc-$l"; done
for v in $variants; do
  case $v in
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
  mfcmd=("$mf" image build --type erofs "${ours[@]}" --threads "$threads" --closure "$closure" -o "$mfimg")
  peercmd=(peer_build "$stage" "$peerimg" "${peer[@]}" -T 0 --all-root --quiet)
  # warm-up (untimed) of both, then alternate
  "${mfcmd[@]}" >/dev/null 2>&1 || true
  "${peercmd[@]}" >/dev/null 2>&1 || true
  bm=""; bp=""; cm=""; cp=""; rssm=""; rssp=""; wms=(); wps=(); cms=(); cps=()
  for ((i = 0; i < runs; i++)); do
    rm -f "$mfimg"; read -r w c r < <(timed "${mfcmd[@]}"); bm=$(min "$bm" "$w"); cm=$(min "$cm" "$c"); rssm=$(max "$rssm" "$r")
    wms+=("$w"); cms+=("$c")
    read -r w c r < <(timed bash -c "$(declare -f peer_build); peer_build \"\$@\"" _ "$stage" "$peerimg" "${peer[@]}" -T 0 --all-root --quiet)
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
