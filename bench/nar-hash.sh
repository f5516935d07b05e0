#!/usr/bin/env bash
# narHash throughput on the corpus (bench/corpus.sh): microforge vs `nix-store --dump P | sha256sum` vs
# `nix hash path`, same paths, same run; then reference scanning (closure scan) vs hashing alone.
# microforge runs through the launcher target/microforge (with its JIT profile for hashing commands; one row
# without it, MICROFORGE_JIT=default, for comparison).
# Every tool runs ROUNDS times (default 3), in alternating order; the best wall time and the best CPU time
# (user+sys, all processes) are reported, with ratios microforge/peer (below 1.0: microforge is faster).
#
#   bench/nar-hash.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/nix-env.sh
rounds=${1:-3}
command -v nix >/dev/null || { echo "bench/nar-hash.sh: needs Nix (tests/install-deps.sh)" >&2; exit 1; }
bench/corpus.sh >/dev/null
out=${MICROFORGE_BENCH_OUT:-bench/out}
mapfile -t paths < "$out/corpus.paths"
closure=$out/corpus.closure
[ -x target/microforge ] && [ -f target/microforge.jar ] || mvn -q -B -Dstyle.color=never -DskipTests package
mf=target/microforge
nix=(nix --extra-experimental-features nix-command --option substituters '')
bytes=$(awk 'length(prev) == 64 && prev ~ /^[0-9a-f]+$/ {s += $0} {prev = $0} END {printf "%d", s}' "$closure")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# warm the page cache so every tool reads from memory
for p in "${paths[@]}"; do nix-store --dump "$p" >/dev/null; done

declare -A wall cpu
measure() { # name command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$@" > "$tmp/$name.out"
  read -r e u s < "$tmp/t"
  local c; c=$(echo "$u + $s" | bc)
  if [ -z "${wall[$name]:-}" ] || (( $(echo "$e < ${wall[$name]}" | bc) )); then wall[$name]=$e; fi
  if [ -z "${cpu[$name]:-}" ] || (( $(echo "$c < ${cpu[$name]}" | bc) )); then cpu[$name]=$c; fi
}
dump_sha() { for p in "$@"; do nix-store --dump "$p" | sha256sum | cut -d' ' -f1; done; }
export -f dump_sha

for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then order=(mf1 mf mfdef nixhash dump); else order=(dump nixhash mfdef mf mf1); fi
  for t in "${order[@]}"; do
    case $t in
      mf1) measure mf1 $mf nar hash --threads 1 --hash-format base16 "${paths[@]}" ;;
      mf) measure mf $mf nar hash --hash-format base16 "${paths[@]}" ;;
      mfdef) measure mfdef env MICROFORGE_JIT=default $mf nar hash --hash-format base16 "${paths[@]}" ;;
      nixhash) measure nixhash "${nix[@]}" hash path --base16 "${paths[@]}" ;;
      dump) measure dump bash -c 'dump_sha "$@"' _ "${paths[@]}" ;;
    esac
  done
  measure scan1 $mf closure scan --threads 1 --closure "$closure"
  measure scan $mf closure scan --closure "$closure"
done

# all tools must agree on every hash
cut -d' ' -f1 "$tmp/mf1.out" | sed 's/^sha256://' > "$tmp/a"
cut -d' ' -f1 "$tmp/mf.out" | sed 's/^sha256://' > "$tmp/b"
cut -d' ' -f1 "$tmp/mfdef.out" | sed 's/^sha256://' > "$tmp/c"
diff -q "$tmp/a" "$tmp/b" >/dev/null && diff -q "$tmp/a" "$tmp/c" >/dev/null && diff -q "$tmp/a" "$tmp/nixhash.out" >/dev/null && diff -q "$tmp/a" "$tmp/dump.out" >/dev/null \
  || { echo "bench/nar-hash.sh: the tools disagree on a hash" >&2; exit 1; }

mb() { echo "scale=0; $bytes / 1048576 / $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
best_peer_wall=$(echo "if (${wall[nixhash]} < ${wall[dump]}) ${wall[nixhash]} else ${wall[dump]}" | bc)
best_peer_cpu=$(echo "if (${cpu[nixhash]} < ${cpu[dump]}) ${cpu[nixhash]} else ${cpu[dump]}" | bc)
printf 'corpus: %s store paths, %s bytes of NAR; %s rounds, best of each; %s CPUs, load %s\n' \
  "${#paths[@]}" "$bytes" "$rounds" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %9s %9s %10s %12s %12s\n' tool "wall s" "cpu s" "MiB/s wall" "wall ratio" "cpu ratio"
row() { printf '%-44s %9s %9s %10s %12s %12s\n' "$1" "${wall[$2]}" "${cpu[$2]}" "$(mb "${wall[$2]}")" "$3" "$4"; }
row "nix-store --dump P | sha256sum" dump "" ""
row "nix hash path" nixhash "" ""
row "microforge nar hash --threads 1" mf1 "$(ratio "${wall[mf1]}" "$best_peer_wall")" "$(ratio "${cpu[mf1]}" "$best_peer_cpu")"
row "microforge nar hash (threads: $(nproc))" mf "$(ratio "${wall[mf]}" "$best_peer_wall")" "$(ratio "${cpu[mf]}" "$best_peer_cpu")"
row "  same, launcher JIT profile off" mfdef "$(ratio "${wall[mfdef]}" "$best_peer_wall")" "$(ratio "${cpu[mfdef]}" "$best_peer_cpu")"
row "microforge closure scan --threads 1" scan1 "$(ratio "${wall[scan1]}" "${wall[mf1]}")" "$(ratio "${cpu[scan1]}" "${cpu[mf1]}")"
row "microforge closure scan (threads: $(nproc))" scan "$(ratio "${wall[scan]}" "${wall[mf]}")" "$(ratio "${cpu[scan]}" "${cpu[mf]}")"
echo "ratios: nar hash rows against the faster peer; closure scan rows (hash + reference scan) against nar hash"

# the phases in one warm JVM (CPU time of the working thread): serialization, SHA-256, reference scan
[ -d target/test-classes/dev/microforge/bench ] || mvn -q -B -Dstyle.color=never test-compile
java --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp target/test-classes:target/microforge.jar \
  dev.microforge.bench.NarPhases "$out/corpus.paths"
