#!/usr/bin/env bash
# The main job on the embedded example (tests/example: a small real closure built by Nix 2.8 and shipped
# in the repo), with NO Nix needed: build microforge, then run its commands on the example.
# Each area adds its step as its own block at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C.UTF-8

if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "demo: installing maven and openjdk-17-jdk-headless" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends maven openjdk-17-jdk-headless >/dev/null
  else
    echo "demo: needs java 17 and maven (apt-get install maven openjdk-17-jdk-headless)" >&2
    exit 1
  fi
fi

mvn -q -B -Dstyle.color=never -DskipTests package
mf=target/microforge
example=tests/example
closure=$example/closure.json       # nix path-info --json of the example closure
store=$example/store                # the store paths, copied out of /nix/store

step() { printf '\n== %s\n' "$*"; }

# ---- foundation: NAR hashes and the closure graph --------------------------------------------------
step "microforge nar hash $store/*"
$mf nar hash "$store"/*

step "microforge closure show --closure $closure"
$mf closure show --closure "$closure"

step "microforge closure scan --closure $closure --real-store $store   (recompute hashes and references from disk)"
$mf closure scan --closure "$closure" --real-store "$store"
# ---- end foundation --------------------------------------------------------------------------------

# ---- nix: the guest NixOS module for an example VM spec (no Nix needed) ----------------------------
spec=tests/nix/example-vm.json
step "microforge nix emit --spec $spec   (the guest NixOS module that matches the runner)"
$mf nix emit --spec "$spec"

step "microforge nix emit --spec $spec --flavor microvm -o target/example-microvm.nix, then --check it"
$mf nix emit --spec "$spec" --flavor microvm -o target/example-microvm.nix
$mf nix emit --spec "$spec" --flavor microvm -o target/example-microvm.nix --check
# ---- end nix ---------------------------------------------------------------------------------------

# ---- audit: size budget, biggest contributors, why-chains, self-containment -------------------------
step "microforge audit size --closure $closure --budget 64K --forbid '*-gcc-*' --top 3"
$mf audit size --closure "$closure" --budget 64K --forbid '*-gcc-*' --top 3

step "microforge audit size --closure $closure --budget 2K --format markdown   (expected to fail: exit 3, over budget)"
rc=0
$mf audit size --closure "$closure" --budget 2K --top 3 --format markdown || rc=$?
[ "$rc" = 3 ] || { echo "demo: expected exit code 3 from the over-budget audit, got $rc" >&2; exit 1; }

step "microforge audit self-contained --closure $closure --real-store $store --no-outside-candidates   (rescan every path's bytes; the example store holds only the closure)"
$mf audit self-contained --closure "$closure" --real-store "$store" --no-outside-candidates
# ---- end audit -------------------------------------------------------------------------------------

# ---- image: a SquashFS store disk of the example closure, read back and verified -------------------
img=target/example-store.squashfs
step "microforge image build --type squashfs --closure $closure --real-store $store --registration registration -o $img"
$mf image build --type squashfs --closure "$closure" --real-store "$store" --registration registration -o "$img"

step "microforge image ls $img"
$mf image ls "$img"

step "microforge image verify $img --closure $closure --registration registration   (exact store paths, narHash of each from the image)"
$mf image verify "$img" --closure "$closure" --registration registration
# ---- end image -------------------------------------------------------------------------------------

# ---- erofs: an EROFS store disk of the example closure, written and read back by microforge ---------
step "microforge image build --type erofs --closure $closure --real-store $store -o target/example.erofs"
$mf image build --type erofs --closure "$closure" --real-store "$store" -o target/example.erofs
step "microforge image ls --summary target/example.erofs"
$mf image ls --summary target/example.erofs
step "microforge image verify target/example.erofs --closure $closure --real-store $store"
$mf image verify target/example.erofs --closure "$closure" --real-store "$store"
if command -v fsck.erofs >/dev/null; then
  step "fsck.erofs target/example.erofs   (erofs-utils checks our image)"
  fsck.erofs target/example.erofs
fi
# ---- end erofs -------------------------------------------------------------------------------------

# ---- runner: a runner directory from the example VM spec, a refused feature, preflight --------------
spec=tests/nix/example-vm.json
step "microforge runner --spec $spec --accel tcg -o target/example-runner   (qemu, microvm.nix layout)"
$mf runner --spec "$spec" --accel tcg -o target/example-runner
(cd target/example-runner && find . -type f | sort)
echo "--- the qemu command in bin/microvm-run:"
grep -E '^(exec )?qemu-system-x86_64 ' target/example-runner/bin/microvm-run | tr ' ' '\n' | grep -E '^-(drive|device|netdev|chardev|object)$' -A1 | grep -v '^--$' | paste - - | head -20

step "microforge runner --spec $spec --hypervisor firecracker   (expected to fail: exit 2, firecracker has no virtiofs)"
rc=0
$mf runner --spec "$spec" --hypervisor firecracker -o target/example-runner-fc || rc=$?
[ "$rc" = 2 ] || { echo "demo: expected exit code 2 for an unsupported feature, got $rc" >&2; exit 1; }

step "microforge preflight --spec $spec --accel tcg   (expected to find problems here: exit 1, one line each)"
rc=0
(cd target && ../$mf preflight --spec "../$spec" --accel tcg) || rc=$?
[ "$rc" = 1 ] || [ "$rc" = 0 ] || { echo "demo: preflight exited $rc" >&2; exit 1; }
# ---- end runner ------------------------------------------------------------------------------------
