#!/usr/bin/env bash
# Regenerates nix/deps.json, the lock nix/package.nix builds from: one entry per runtime jar of the pom
# (groupId, artifactId, version, sha256 of the file), exactly the set `mvn dependency:list
# -DincludeScope=runtime` resolves, sorted by groupId:artifactId.
#
# Run it after every change to the pom's dependencies (DepsLockTest fails until you do):
#
#   bash nix/update-deps.sh            # resolves with Maven (downloads what is missing), rewrites the lock
#   bash nix/update-deps.sh --check    # writes nothing; exit 1 when the lock is not current
#   bash nix/update-deps.sh --seed-store
#       adds the locked jars from the local Maven repository to the Nix store (nix-store --add-fixed), at
#       the very paths the fetchurl of nix/package.nix produces: `nix build` and `nix flake check` then
#       fetch nothing from Maven Central. Each file is checked against the lock first.
#
# The sha256 is taken from the file in the local Maven repository, which Maven downloaded from Maven
# Central; Nix then fetches the same file through `mirror://maven/` and refuses it unless the bytes match.
# Environment: MVN (the mvn command, default mvn), MVN_ARGS (extra arguments, e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case ${1:-} in
  --check) check=true ;;
  --seed-store)
    # the local repository as Maven configures it (settings.xml), ~/.m2/repository when mvn is missing
    repo=$(${MVN:-mvn} -B -q ${MVN_ARGS:-} help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null) \
      || repo="$HOME/.m2/repository"
    [ -d "$repo" ] || { echo "nix/update-deps.sh: no local Maven repository at $repo" >&2; exit 1; }
    n=0
    while read -r line; do
      [[ $line =~ \"groupId\":\ \"([^\"]+)\",\ \"artifactId\":\ \"([^\"]+)\",\ \"version\":\ \"([^\"]+)\",\ \"sha256\":\ \"([0-9a-f]{64})\" ]] || continue
      group=${BASH_REMATCH[1]} artifact=${BASH_REMATCH[2]} version=${BASH_REMATCH[3]} sha=${BASH_REMATCH[4]}
      file="$repo/${group//.//}/$artifact/$version/$artifact-$version.jar"
      [ -f "$file" ] || { echo "nix/update-deps.sh: $file (nix/deps.json) is not in the local Maven repository" >&2; exit 1; }
      actual=$(sha256sum "$file" | cut -d' ' -f1)
      [ "$actual" = "$sha" ] || { echo "nix/update-deps.sh: $file has sha256 $actual, nix/deps.json says $sha" >&2; exit 1; }
      nix-store --add-fixed sha256 "$file"
      n=$((n + 1))
    done < nix/deps.json
    [ "$n" -gt 0 ] || { echo "nix/update-deps.sh: no entries in nix/deps.json" >&2; exit 1; }
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--check | --seed-store]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the same goal and plugin version the pom binds to `validate` (target/runtime-dependencies.txt)
# shellcheck disable=SC2086
${MVN:-mvn} -B -q ${MVN_ARGS:-} org.apache.maven.plugins:maven-dependency-plugin:3.8.1:list \
  -DincludeScope=runtime -DoutputAbsoluteArtifactFilename=true -Dsort=true \
  -DoutputFile="$tmp/list.txt" >"$tmp/mvn.log" 2>&1 || { cat "$tmp/mvn.log" >&2; exit 1; }

# lines: "   group:artifact:type:version:scope:/abs/path.jar[ -- module name]" (colour codes removed)
out="$tmp/deps.json"
{
  echo "["
  first=true
  while read -r line; do
    coords=${line%% -- *}
    IFS=: read -r group artifact type version scope file <<<"$coords"
    [ -n "${file:-}" ] || continue
    if [ "$type" != jar ]; then
      echo "nix/update-deps.sh: $group:$artifact:$version has type $type; nix/package.nix only handles jars" >&2
      exit 1
    fi
    for v in "$group" "$artifact" "$version"; do
      # coordinates go into JSON and into a URL as they are
      if ! [[ $v =~ ^[A-Za-z0-9._-]+$ ]]; then
        echo "nix/update-deps.sh: unexpected character in coordinate '$v' ($coords)" >&2
        exit 1
      fi
    done
    expected="${group//.//}/$artifact/$version/$artifact-$version.jar"
    case $file in
      */"$expected") ;;
      *) echo "nix/update-deps.sh: $file is not at the Maven repository path $expected" >&2; exit 1 ;;
    esac
    sha=$(sha256sum "$file" | cut -d' ' -f1)
    $first || echo ","
    first=false
    printf '  { "groupId": "%s", "artifactId": "%s", "version": "%s", "sha256": "%s" }' \
      "$group" "$artifact" "$version" "$sha"
  done < <(sed 's/\x1b\[[0-9;]*m//g' "$tmp/list.txt" | grep -E '^ +[^ ]+:[^ ]+:' | LC_ALL=C sort)
  printf '\n]\n'
} >"$out"

if $check; then
  if cmp -s "$out" nix/deps.json; then
    echo "nix/deps.json is current"
  else
    echo "nix/deps.json is not current; run: bash nix/update-deps.sh" >&2
    diff -u nix/deps.json "$out" >&2 || true
    exit 1
  fi
else
  mv "$out" nix/deps.json.tmp
  mv nix/deps.json.tmp nix/deps.json
  echo "nix/deps.json: $(grep -c '"sha256"' nix/deps.json) jars"
fi
