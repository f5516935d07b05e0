#!/usr/bin/env bash
# audit size at scale: synthetic closures of 100,000 and 1,000,000 paths (registration format, realistic shape:
# core libraries everyone uses, shared libraries with preferential attachment, multiple outputs, self-references,
# mutual references, a few giant paths; generator: src/test/java/dev/microforge/bench/SyntheticClosure.java),
# then `audit size --top 20 --baseline` (why-chains and the package diff included) under -Xmx2g.
# Targets (issue 3): under 1.5 s for 100k paths, under 10 s for 1M paths, within a 2 GiB heap.
# Peer on the same machine and run: `nix path-info -rsS` vs `audit size --from-store` on the Nix-built
# test closure (tests/fixtures/audit.nix), and sha256sum/sort of the 1M file as a machine-speed reference.
#
# Two ways of running it, same files, same run: `java -Xmx2g -jar target/microforge.jar` (JVM defaults), and the
# launcher target/microforge with MICROFORGE_JAVA_OPTS=-Xmx2g (the launcher runs `audit size` on C1 alone: for a
# one-shot CLI run the C2 compiler threads cost more CPU than they save).
# Wall times on a shared machine are noise: the CPU time (user+sys) and the in-process phases are the figures to
# compare (docs/benchmarks.md, bench:audit).
#
#   bench/audit-bench.sh [SIZES...]      (default: 100000 1000000; RUNS=3 runs per size, best reported;
#                                         VARIANTS="jar launcher" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/nix-env.sh
out=${MICROFORGE_BENCH_OUT:-bench/out}/audit
mkdir -p "$out"
runs=${RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

[ -f target/microforge.jar ] && [ -d target/test-classes/dev/microforge/bench ] || mvn -q -B -o -DskipTests package test-compile
cp="target/test-classes:target/microforge.jar"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for n in "${sizes[@]}"; do
  for v in baseline current; do
    f="$out/$v-$n.reg"
    [ -s "$f" ] || java -cp "$cp" dev.microforge.bench.SyntheticClosure "$n" 1 "$v" "$f"
  done
  echo "== $n paths: $(du -hL "$out/current-$n.reg" | cut -f1) per closure file"
  for variant in ${VARIANTS:-jar launcher}; do
    case $variant in
      jar) run=(java -Xmx2g -jar target/microforge.jar) ;;
      launcher) run=(env MICROFORGE_JAVA_OPTS=-Xmx2g target/microforge) ;;
      *) echo "unknown variant $variant" >&2; exit 2 ;;
    esac
    best=""
    for ((i = 1; i <= runs; i++)); do
      t=$( { /usr/bin/time -f "%e %U %S %M" "${run[@]}" audit size \
             --closure "$out/current-$n.reg" --baseline "$out/baseline-$n.reg" --top 20 --format json \
             > "$out/report-$n.json"; } 2>&1 | tail -1 )
      read -r wall user sys rss <<<"$t"
      echo "  [$variant] run $i: wall ${wall} s, cpu $(echo "$user + $sys" | bc) s, max RSS $((rss / 1024)) MiB"
      if [ -z "$best" ] || [ "$(echo "$wall < ${best%% *}" | bc)" = 1 ]; then best="$wall $user $sys"; fi
    done
    target=$([ "$n" -le 100000 ] && echo 1.5 || echo 10)
    read -r bw bu bs <<<"$best"
    echo "  [$variant] best: wall ${bw} s (target ${target} s, ratio $(echo "scale=2; $bw / $target" | bc)), cpu $(echo "$bu + $bs" | bc) s (ratio to the target $(echo "scale=2; ($bu + $bs) / $target" | bc))"
  done
  java -Xmx2g -cp "$cp" dev.microforge.bench.AuditPhases "$out/current-$n.reg" "$out/baseline-$n.reg" | sed 's/^/  phases (one JVM): /'
done

big="$out/current-${sizes[-1]}.reg"
/usr/bin/time -f "  reference: sha256sum of $(du -hL "$big" | cut -f1) took %e s wall, %U s user" sha256sum "$big" >/dev/null
/usr/bin/time -f "  reference: sort of the same file took %e s wall, %U s user" sort -S 1G "$big" -o /dev/null

if command -v nix-build >/dev/null; then
  top=$(nix-build --option substituters '' --no-out-link tests/fixtures/audit.nix -A top 2>/dev/null | tail -1)
  echo "== peer: $(nix-store -q --requisites "$top" | wc -l) Nix-built paths"
  tn=$( { /usr/bin/time -f "%e" nix --extra-experimental-features nix-command path-info -rsS "$top" >/dev/null; } 2>&1 | tail -1)
  tm=$( { /usr/bin/time -f "%e" java -jar target/microforge.jar audit size --from-store "$top" >/dev/null; } 2>&1 | tail -1)
  echo "  nix path-info -rsS: ${tn} s; microforge audit size --from-store: ${tm} s (ratio $(echo "scale=2; $tm / $tn" | bc), JVM start-up included)"
fi
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
