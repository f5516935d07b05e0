# The example guest of the flake's checks: a small NixOS system (for the closure audit).
{ lib, ... }:
{
  networking.hostName = "example";
  system.stateVersion = "24.11";
  users.users.root.initialHashedPassword = "";
  services.getty.autologinUser = "root";
  nix.enable = lib.mkDefault false;
}
