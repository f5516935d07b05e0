#!/usr/bin/env bash
# Byte-identity of SquashFS images between two microforge jars (a refactoring must not change one byte):
# builds every variant of the matrix below with both jars and cmp's the images.
#
#   bench/identical.sh OLD_JAR NEW_JAR
#   IDENTICAL_OLD_ONLY=1 ...             # only build (and keep) the old images, with IDENTICAL_WORK
#   IDENTICAL_SETS="trees corpus" ...     # which inputs (default both): trees = small test trees, corpus = the
#                                         # bench corpus ($MICROFORGE_BENCH_OUT, default bench/out)
#   IDENTICAL_WORK=DIR ...                # scratch directory (default: a fresh one under $TMPDIR, removed at
#                                         # the end); images of OLD_JAR are kept there as old/<variant>.img and
#                                         # reused by a later run with the same DIR (build the old half once)
#
# Trees: a copy of /usr/share/doc/[a-h]*, a copy of /usr/lib/x86_64-linux-gnu/lib[a-c]* (libs, symlinks), and a made-up
# tree with hard links, symlinks, empty files, sparse files, all-zero blocks, files of exactly one or several
# blocks, duplicates (small, block-sized, larger than the 32 MiB candidate buffer, same size different bytes),
# a directory of 3000 entries (directory index) and long names. Each tree is one store path of a closure read
# through --real-store.
# Matrix on the trees (31 variants): zstd and lz4 at block sizes 4K, 128K, 1M, --no-fragments, --no-tail-packing,
# threads 1, 2, 8 and an explicit --level; none at 4K and 128K, --no-fragments, threads 1, 2, 8; gzip at 128K
# and 1M, --no-fragments, threads 8, --level 6; xz at 128K and 1M, threads 8, --no-fragments, --xz-bcj x86 and
# none. Corpus: lz4 at threads 1 and 8, none, zstd; with IDENTICAL_SLOW=1 also lz4 --no-fragments, gzip and
# xz at 1M blocks (about 10 min more on a quiet 2-core machine).
# Prints one line per variant and a summary; exit 1 when any image differs or a build fails.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_JAR NEW_JAR" >&2; exit 2; }
old_jar=$(realpath "$1") new_jar=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
sets=${IDENTICAL_SETS:-trees corpus}
bench_out=${MICROFORGE_BENCH_OUT:-$here/out}
if [ -n "${IDENTICAL_WORK:-}" ]; then
  work=$IDENTICAL_WORK; mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/identical.XXXXXX"); trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/old" "$work/new"
java_run=(java --add-opens java.base/sun.nio.fs=ALL-UNNAMED -jar)

# ---- trees ----
h=0000000000000000000000000000000
make_trees() {
  local s=$work/store
  [ -f "$work/trees.done" ] && return 0
  rm -rf "$s"; mkdir -p "$s"
  mkdir "$s/${h}a-doc" "$s/${h}b-libs"
  cp -a /usr/share/doc/[a-h]* "$s/${h}a-doc/"
  find /usr/lib/x86_64-linux-gnu -maxdepth 1 \( -type f -o -type l \) -name 'lib[a-c]*' -print0 |
    xargs -0 cp -a -t "$s/${h}b-libs"
  local t=$s/${h}c-special
  mkdir -p "$t/dir/sub/deeper" "$t/many" "$t/dups" "$t/empty-dir"
  : > "$t/empty"; : > "$t/dir/empty2"
  echo hello > "$t/dir/hello"; ln "$t/dir/hello" "$t/dir/hello-hardlink"; ln "$t/dir/hello" "$t/dir/sub/hello-hardlink2"
  ln -s hello "$t/dir/hello-link"; ln -s ../../dir/hello "$t/dir/sub/up-link"; ln -s /nonexistent/x "$t/dangling"
  ln -s "$(printf 'x%.0s' $(seq 4000))" "$t/long-target"
  truncate -s 5M "$t/sparse-all"
  { head -c 100000 /dev/urandom; } > "$t/sparse-mid"; truncate -s 3M "$t/sparse-mid"; head -c 7777 /dev/urandom >> "$t/sparse-mid"
  head -c $((128 * 1024)) /dev/urandom > "$t/one-block"; cp "$t/one-block" "$t/dups/one-block-copy"
  head -c $((1024 * 1024 * 3)) /dev/urandom > "$t/three-mib"; cp "$t/three-mib" "$t/dups/three-mib-copy"
  head -c $((1024 * 1024)) /dev/urandom > "$t/big"; truncate -s 33M "$t/big"; head -c 5000 /dev/urandom >> "$t/big"
  cp "$t/big" "$t/dups/big-copy"
  cp "$t/big" "$t/dups/big-other"; printf 'Z' | dd of="$t/dups/big-other" bs=1 seek=$((20 * 1024 * 1024)) conv=notrunc 2>/dev/null
  head -c 5000 /dev/urandom > "$t/dups/a"; cp "$t/dups/a" "$t/dups/a2"; cp "$t/dups/a" "$t/dir/a3"
  head -c 5000 /dev/urandom > "$t/dups/b-same-size"
  seq 1 200000 > "$t/text"; cp "$t/text" "$t/dups/text-copy"; chmod +x "$t/dups/text-copy"
  for i in $(seq 1 3000); do printf '%s\n' "$i" > "$t/many/entry-with-a-rather-long-name-$i"; done
  : > "$t/many/$(printf 'n%.0s' $(seq 255))"
  printf 'odd\x01name' > "$t/dir/$(printf 'bytes-\001-\177')"
  for p in "$s"/*; do printf '/nix/store/%s\n\n0\n' "$(basename "$p")"; done > "$work/trees.closure"
  touch "$work/trees.done"
}

# variant NAME INPUT-ARGS... -- BUILD-ARGS...
fail=0 same=0
variant() {
  local name=$1; shift
  local -a in=() args=()
  while [ "$1" != -- ]; do in+=("$1"); shift; done; shift
  args=("$@")
  local o=$work/old/$name.img n=$work/new/$name.img
  if [ ! -s "$o" ]; then
    rm -f "$o"
    "${java_run[@]}" "$old_jar" image build --type squashfs "${in[@]}" "${args[@]}" -o "$o" 2>"$work/err" ||
      { echo "$name: old build failed: $(head -1 "$work/err")"; fail=$((fail + 1)); return 0; }
  fi
  [ -n "${IDENTICAL_OLD_ONLY:-}" ] && { echo "$name: old image built"; return 0; }
  rm -f "$n"
  "${java_run[@]}" "$new_jar" image build --type squashfs "${in[@]}" "${args[@]}" -o "$n" 2>"$work/err" ||
    { echo "$name: new build failed: $(head -1 "$work/err")"; fail=$((fail + 1)); return 0; }
  if cmp -s "$o" "$n"; then
    echo "$name: identical ($(stat -c %s "$n") bytes)"; same=$((same + 1))
  else
    echo "$name: DIFFER ($(cmp "$o" "$n" 2>&1 | head -1))"; fail=$((fail + 1))
  fi
  rm -f "$n"
}

if [[ " $sets " == *" trees "* ]]; then
  make_trees
  tin=(--closure "$work/trees.closure" --closure-format export-references-graph --real-store "$work/store")
  # v NAME ARGS...: one variant on the trees
  v() { local n=$1; shift; variant "trees-$n" "${tin[@]}" -- "$@"; }
  for c in zstd lz4; do
    for bs in 4K 128K 1M; do v "$c-bs$bs" --compression "$c" --block-size "$bs" --threads 2; done
    v "$c-nofrag" --compression "$c" --no-fragments --threads 2
    v "$c-notail" --compression "$c" --no-tail-packing --threads 2
    v "$c-t1" --compression "$c" --threads 1
    v "$c-t8" --compression "$c" --threads 8
  done
  v zstd-level3 --compression zstd --level 3 --threads 2
  v lz4-level9 --compression lz4 --level 9 --threads 2
  for bs in 4K 128K; do v "none-bs$bs" --compression none --block-size "$bs" --threads 2; done
  v none-nofrag --compression none --no-fragments --threads 2
  v none-t1 --compression none --threads 1
  v none-t8 --compression none --threads 8
  for bs in 128K 1M; do v "gzip-bs$bs" --compression gzip --block-size "$bs" --threads 2; done
  v gzip-nofrag --compression gzip --no-fragments --threads 2
  v gzip-t8 --compression gzip --threads 8
  v gzip-level6 --compression gzip --level 6 --threads 2
  v xz-bs1M --compression xz --block-size 1M --threads 2
  v xz-t8 --compression xz --threads 8
  v xz-nofrag --compression xz --no-fragments --threads 2
  v xz-bcj-x86 --compression xz --xz-bcj x86 --threads 2
  v xz-bcj-none --compression xz --xz-bcj none --level 6 --block-size 1M --threads 2
fi

if [[ " $sets " == *" corpus "* ]]; then
  [ -s "$bench_out/corpus.closure" ] || { echo "identical: no corpus at $bench_out (run bench/corpus.sh)" >&2; exit 1; }
  cin=(--closure "$bench_out/corpus.closure")
  variant corpus-lz4-t1 "${cin[@]}" -- --compression lz4 --threads 1
  variant corpus-lz4-t8 "${cin[@]}" -- --compression lz4 --threads 8
  variant corpus-none "${cin[@]}" -- --compression none --threads 2
  variant corpus-zstd "${cin[@]}" -- --compression zstd --threads 2
  if [ -n "${IDENTICAL_SLOW:-}" ]; then
    variant corpus-lz4-nofrag "${cin[@]}" -- --compression lz4 --no-fragments --threads 2
    variant corpus-gzip "${cin[@]}" -- --compression gzip --threads 2
    variant corpus-xz-1M "${cin[@]}" -- --compression xz --block-size 1M --threads 2
  fi
fi
echo "identical: $same identical, $fail differing or failed"
[ "$fail" -eq 0 ]
