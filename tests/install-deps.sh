#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (idempotent; needs root for apt-get).
set -euo pipefail
PKGS=(nix-bin squashfs-tools squashfs-tools-ng erofs-utils qemu-system-x86 qemu-utils linux-image-cloud-amd64
      linux-image-amd64
      xfsprogs btrfs-progs dosfstools
      busybox-static cpio e2fsprogs iproute2 util-linux lz4 maven openjdk-17-jdk-headless jq)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/install-deps.sh: missing packages ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Nix 2.8 from Debian: single-user, offline; the daemon-less store needs its build users or root.
if [ "$(id -u)" = 0 ] && [ ! -d /nix/store ]; then
  mkdir -p /nix/store /nix/var/nix
fi
