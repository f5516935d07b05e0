# nix/host.nix evaluated with the stub nixpkgs and minimal NixOS-module stubs (options are declarations only;
# nothing is merged): the `config` it defines for three VMs, for HostModuleTest. Values are those the test
# declares; every option is given, so no default of the module system is needed.
{
  microforgeCommand ? "/bin/false",
  microforgeVersion ? "eval",
  # more VMs (by name, with the spec of `db`), for the checks on names
  extraVmNames ? [ ],
}:
let
  nixpkgs = import ./stub-nixpkgs { inherit microforgeCommand microforgeVersion; };
  stub = nixpkgs.legacyPackages.${builtins.currentSystem};
  tool =
    name: target:
    stub.runCommand name { } ''
      mkdir -p "$out/bin"
      ln -s ${target} "$out/bin/"
    '';
  pkgs = stub // {
    iproute2 = tool "iproute2" "/sbin/ip";
    coreutils = tool "coreutils" "/bin/ln";
    bash = tool "bash" "/bin/bash";
  };
  lib = nixpkgs.lib // {
    mkOption = attrs: attrs;
    types = {
      package = "package";
      bool = "bool";
      path = "path";
      attrs = "attrs";
      enum = l: { enum = l; };
      either = a: b: { either = [ a b ]; };
      nullOr = t: { nullOr = t; };
      attrsOf = t: { attrsOf = t; };
      submodule = m: { submodule = m; };
    };
  };
  vms = {
    web = {
      spec = ../../src/test/resources/host/tricky.json;
      storeDisk = null;
      autostart = true;
      restartIfChanged = true;
    };
    demo = {
      spec = ../../src/test/resources/runner/golden/qemu.json;
      storeDisk = null;
      autostart = true;
      restartIfChanged = false;
    };
    db = {
      spec = {
        hypervisor = "cloud-hypervisor";
        kernel = "/k";
        storeOnDisk = false;
        interfaces = [ { type = "tap"; id = "vm-db"; } ];
      };
      storeDisk = null;
      autostart = false;
      restartIfChanged = true;
    };
  };
  module = import ../../nix/host.nix {
    config.microforge = {
      vms = vms // builtins.listToAttrs (map (n: { name = n; value = vms.db; }) extraVmNames);
      package = pkgs.microforge;
      virtiofsdStyle = "rust";
    };
    inherit lib pkgs;
  };
  c = module.config;
  cfg = if (c._type or "") == "if" then (if c.condition then c.content else { }) else c;
in
{
  config = {
    inherit (cfg) users environment boot;
    systemd = {
      inherit (cfg.systemd) services targets tmpfiles;
      packages = map (p: p.name) cfg.systemd.packages;
    };
  };
  options = builtins.attrNames module.options.microforge;
  vmOptions = builtins.attrNames module.options.microforge.vms.type.attrsOf.submodule.options;
  units = cfg.systemd.packages;
  # what NixOS does with the module's assertions before building the system (nixos/modules/system/activation/top-level.nix)
  checked =
    let
      failed = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
    in
    if failed != [ ] then
      throw "\nFailed assertions:\n${builtins.concatStringsSep "\n" (map (m: "- " + m) failed)}"
    else
      builtins.length cfg.assertions;
}
