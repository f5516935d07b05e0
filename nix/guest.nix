# The spec-independent part of a microforge guest (flake output nixosModules.guest).
#
# The spec-specific part (store disk, volumes, shares, interfaces, kernel modules and parameters) is
# the module `microforge nix emit --spec vm.json` writes: commit it next to this import and keep it
# current with `microforge nix emit --spec vm.json -o vm-guest.nix --check` in CI, or let Nix emit it
# at evaluation time with `microforge.lib.guestModule { inherit pkgs; spec = ./vm.json; }`.
{ lib, ... }:
{
  # the runner boots the kernel directly: no boot loader, no boot partition
  boot.loader.grub.enable = lib.mkDefault false;
  boot.initrd.systemd.enable = lib.mkDefault false;
  # the emitted module matches interfaces by MAC with systemd-networkd
  networking.useNetworkd = lib.mkDefault true;
  networking.useDHCP = lib.mkDefault false;
  systemd.network.enable = lib.mkDefault true;
  # a microVM has no firmware to update and no hardware to scan
  hardware.enableRedistributableFirmware = lib.mkDefault false;
  services.udisks2.enable = lib.mkDefault false;
  documentation.enable = lib.mkDefault false;
}
