#!/usr/bin/env bash
# The HTML report (`audit size --format html`) at scale: a synthetic closure of 100,000 paths with a baseline
# (generator: src/test/java/dev/microforge/bench/SyntheticClosure.java), rendered to HTML, then opened in headless
# Chromium (Debian's chromium) through the DevTools protocol (HtmlReportLoad): the time from navigation until the
# page is ready (JSON parsed, treemap laid out and drawn, list drawn), the same figure from the page's own clock,
# and the file size. Targets (issue 17): open and render in under 2 s, file under 30 MB.
#
#   bench/html-report-bench.sh [PATHS]        (default 100000; RUNS=3 loads, each in a fresh browser profile)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${MICROFORGE_BENCH_OUT:-bench/out}/html
mkdir -p "$out"
n=${1:-100000}
runs=${RUNS:-3}
[ -f target/microforge.jar ] && [ -f target/test-classes/dev/microforge/bench/HtmlReportLoad.class ] \
  || mvn -q -B -o -DskipTests package test-compile
cp="target/test-classes:target/microforge.jar"
for v in baseline current; do
  f="$out/$v-$n.reg"
  [ -s "$f" ] || java -cp "$cp" dev.microforge.bench.SyntheticClosure "$n" 1 "$v" "$f"
done
report="$out/report-$n.html"
set +e
/usr/bin/time -f "  audit size --format html: wall %e s, max RSS %M KiB" java -Xmx2g -jar target/microforge.jar audit size \
  --closure "$out/current-$n.reg" --baseline "$out/baseline-$n.reg" --format html -o "$report"
rc=$?
set -e
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "audit size failed ($rc)" >&2; exit 1; }
bytes=$(stat -c %s "$report")
echo "== $n paths: report $((bytes / 1024 / 1024)) MiB ($bytes bytes; target < 30 MiB = 31457280 bytes)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= runs; i++)); do
  profile=$(mktemp -d)
  java -cp "$cp" dev.microforge.bench.HtmlReportLoad "$report" "$profile" "$out/report-$n.png" | sed "s/^/  run $i: /"
  rm -rf "$profile"
done
echo "  (target: load_ms < 2000; screenshot: $out/report-$n.png)"
