#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (idempotent; needs root for apt-get), then checks
# that every tool, kernel and directory the tests use is there: any failure is an error with the reason, exit 1.
set -euo pipefail
PKGS=(nix-bin squashfs-tools squashfs-tools-ng erofs-utils qemu-system-x86 qemu-utils linux-image-cloud-amd64
      linux-image-amd64
      xfsprogs btrfs-progs dosfstools
      busybox-static cpio e2fsprogs iproute2 util-linux lz4 maven openjdk-17-jdk-headless jq)
missing=()
# the HTML report rendered in a headless browser (HtmlReportBrowserTest), closure show --format dot (dot -Tsvg)
PKGS+=(chromium graphviz)
# losetup and mount (mount), /usr/lib/qemu/virtiofsd (qemu-system-common), mkfifo/truncate/sha256sum (coreutils)
PKGS+=(mount qemu-system-common coreutils)
# Linux 6.12 (bookworm backport; the exact build the EROFS zstd/lzma/deflate mount tests boot: Kernel.Series.LTS_6_12)
K612=6.12.117+deb12-cloud-amd64
PKGS+=("linux-image-$K612")
# systemd-analyze and systemd-escape (the host units tests), socat (the QMP stand-in of the unit sequence test)
PKGS+=(systemd socat)
# cc for Lz4FastDestSizeTest (a C caller of liblz4's LZ4_compress_destSize; liblz4-1 comes with lz4)
PKGS+=(gcc)
# zstd, gzip and xz decode the EROFS zstd/deflate/lzma pclusters (PclusterOracleTest)
PKGS+=(zstd gzip xz-utils)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
die() {
  echo "tests/install-deps.sh: $*" >&2
  exit 1
}
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}; run as root or install them"
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp -t install-deps.XXXXXX)
  if ! apt-get update -q >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get update failed (full log: $log)"
  fi
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get install ${missing[*]} failed (full log: $log)"
  fi
  rm -f "$log"
fi
# Nix 2.8 from Debian, single-user and offline: the store and its state directory must exist (root creates them).
# The settings the tests run Nix with are tests/nix-test.conf (docs/testkit.md); the host's Nix configuration
# is left alone.
for d in /nix/store /nix/var/nix; do
  if [ ! -d "$d" ]; then
    [ "$(id -u)" = 0 ] || die "$d does not exist; create it as root: mkdir -p $d"
    mkdir -p "$d"
  fi
done
for t in chromium dot; do command -v "$t" >/dev/null || die "tool '$t' not found (packages chromium, graphviz)"; done
# Everything the tests call, whichever package brings it.
for t in nix nix-build nix-store nix-instantiate nix-hash mksquashfs unsquashfs rdsquashfs mkfs.erofs fsck.erofs \
         dump.erofs qemu-system-x86_64 qemu-img mkfs.ext4 losetup blkid mount umount runuser setpriv ip lz4 jq cpio \
         busybox mkfifo truncate sha256sum bash mvn java; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] || die "tool '$t' not found after installing ${PKGS[*]}"
done
for t in systemd-analyze systemd-escape socat; do command -v "$t" >/dev/null || die "tool '$t' not found (packages systemd, socat)"; done
[ -x /usr/lib/qemu/virtiofsd ] || die "/usr/lib/qemu/virtiofsd not found (package qemu-system-common)"
compgen -G '/boot/vmlinuz-6.1.*-cloud-amd64' >/dev/null || die "no /boot/vmlinuz-6.1.*-cloud-amd64 (package linux-image-cloud-amd64)"
compgen -G '/boot/vmlinuz-6.1.*[0-9]-amd64' >/dev/null || die "no generic /boot/vmlinuz-6.1.*-amd64 (package linux-image-amd64; 9p)"
for f in "/boot/vmlinuz-$K612" "/boot/config-$K612" "/lib/modules/$K612/modules.dep" \
         "/lib/modules/$K612/kernel/fs/erofs/erofs.ko.xz"; do
  [ -r "$f" ] || die "no $f (package linux-image-$K612)"
done
for o in EROFS_FS_ZIP_LZMA EROFS_FS_ZIP_DEFLATE EROFS_FS_ZIP_ZSTD; do
  grep -qx "CONFIG_$o=y" "/boot/config-$K612" || die "/boot/config-$K612 lacks CONFIG_$o=y"
done
id nobody >/dev/null 2>&1 || die "no user 'nobody' (the permission tests run the CLI as nobody)"
