#!/bin/sh
# Builds the class-data sharing (AppCDS) archive the launcher maps at start (src/main/sh/microforge):
#
#   sh train.sh JAVA JAR ARCHIVE
#
# JAVA is the java the launcher will run (an archive only maps into the JVM build that wrote it) and JAR the
# microforge.jar at the path, size and mtime it will have when run (the JVM checks them, and those of the jars
# on its Class-Path, and ignores the archive when one differs). Training: the commands whose start-up time
# counts (image builds with the fast codecs, the hashing and closure commands, --version) run on a tiny store
# tree made here, each writing the list of classes it loaded; the sorted union of the lists is dumped into
# ARCHIVE with -Xshare:dump (the JDK's own classes included, so ARCHIVE replaces the JDK's default archive).
# The JVM options are the launcher's that change what is archived (--add-opens disables the archived module
# graph and is given by the jar's manifest instead, so neither run passes it).
# Writes ARCHIVE atomically; exits non-zero, leaving no ARCHIVE, when a step fails.
set -eu
java=$1 jar=$2 archive=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/microforge-cds.XXXXXX")
trap 'rm -rf "$work"' EXIT

# a tiny closure: two store paths (one refers to the other), text, incompressible and all-zero data, a
# duplicate file, an executable, a symlink and an empty directory
store=$work/store
a=$store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-cds-lib-1.0
b=$store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-cds-app-1.0
mkdir -p "$a/lib" "$a/share/doc" "$b/bin" "$b/empty"
i=0
while [ $i -lt 2000 ]; do echo "line $i of a text file that compresses well"; i=$((i + 1)); done > "$a/share/doc/README"
# the jar's deflated entries: data that does not compress, the same on every build
head -c 300000 "$jar" > "$a/lib/libcds.so"
head -c 200000 /dev/zero > "$a/lib/zeros"
cp "$a/share/doc/README" "$b/README"
printf '#!/bin/sh\necho %s\n' "$a" > "$b/bin/app"
chmod +x "$b/bin/app"
ln -s "$a/lib/libcds.so" "$b/lib.so"
na=/nix/store/${a##*/} nb=/nix/store/${b##*/}
zero=0000000000000000000000000000000000000000000000000000000000000000
# the closure in the registration format (nixpkgs' closureInfo) and as nix path-info --json
printf '%s\n%s\n1000\n\n0\n%s\n%s\n1000\n\n1\n%s\n' "$na" "$zero" "$nb" "$zero" "$na" > "$work/closure"
printf '[{"path":"%s","narHash":"sha256:%s","narSize":1000,"references":[]},' "$na" "$zero" > "$work/closure.json"
printf '{"path":"%s","narHash":"sha256:%s","narSize":1000,"references":["%s"]}]\n' "$nb" "$zero" "$na" >> "$work/closure.json"

n=0
run() {
  n=$((n + 1))
  "$java" -Xshare:off -XX:DumpLoadedClassList="$work/classes.$n" -jar "$jar" "$@" > /dev/null
}
run --version
for t in squashfs:lz4 squashfs:none squashfs:zstd erofs:lz4 erofs:lz4hc erofs:none; do
  run image build --type "${t%%:*}" --compression "${t#*:}" --closure "$work/closure" --real-store "$store" \
    -o "$work/img.$n" --threads 2
done
run image build --type squashfs --compression lz4 --closure "$work/closure.json" --real-store "$store" -o "$work/img.j"
run nar hash "$a" "$b"
run closure show --closure "$work/closure.json"
LC_ALL=C sort -u "$work"/classes.* > "$work/classes"
"$java" -Xshare:dump -XX:SharedClassListFile="$work/classes" -XX:SharedArchiveFile="$work/archive.jsa" \
  -cp "$jar" > "$work/dump.log" 2>&1 || { cat "$work/dump.log" >&2; exit 1; }
mv -f "$work/archive.jsa" "$archive"
