# NixOS host module: microVMs declared as `microforge.vms.<name>` run as systemd services (docs/host.md).
# The unit files are written by `microforge units` in a derivation (one source of truth with the CLI) and
# installed as a systemd package; this module only adds what is host policy: autostart, restart on change,
# the `current` runner link, the VM user and its groups, /etc/qemu/bridge.conf and kernel modules.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.microforge;
  mf = import ./lib.nix { };
  stateDir = "/var/lib/microforge";
  readSpec = spec: if builtins.isAttrs spec then spec else builtins.fromJSON (builtins.readFile spec);
  # vm/VmSpec.java NAME
  vmNameRule = "[A-Za-z0-9_][A-Za-z0-9._-]{0,62}";
  sortedUnique = l: builtins.attrNames (builtins.listToAttrs (map (x: { name = x; value = null; }) l));

  vmFor =
    name: vm:
    let
      spec = readSpec vm.spec // { inherit name; };
      runner = mf.mkRunner (
        {
          inherit pkgs spec;
          microforge = cfg.package;
        }
        // (if (vm.storeDisk or null) != null then { inherit (vm) storeDisk; } else { })
      );
      # the units' own helpers: ip for the interfaces, ln/readlink/rm for the booted link; bash for the
      # runner's scripts (#!/usr/bin/env bash)
      unitPath = "${pkgs.coreutils}/bin:${pkgs.iproute2}/bin:${pkgs.bash}/bin";
      units = pkgs.runCommand "microforge-units-${name}" {
        # names and interfaces only: the units do not depend on the image or the kernel
        specJson = builtins.unsafeDiscardStringContext (builtins.toJSON spec);
        passAsFile = [ "specJson" ];
      } ''
        cp "$specJsonPath" vm.json
        ${cfg.package}/bin/microforge units --spec vm.json --runner ${lib.escapeShellArg "${stateDir}/${name}/current"} \
          --state-dir ${lib.escapeShellArg "${stateDir}/${name}"} --ip ${pkgs.iproute2}/bin/ip \
          --virtiofsd ${pkgs.virtiofsd}/bin/virtiofsd --virtiofsd-style ${cfg.virtiofsdStyle} \
          --shell ${pkgs.runtimeShell} --path ${unitPath} -o units
        # the target is this module's (one for all VMs); the marker of microforge's -o is not a unit
        rm units/microforge-vms.target units/.microforge-runner
        mkdir -p "$out/lib/systemd"
        cp -r units "$out/lib/systemd/system"
      '';
    in
    {
      inherit name spec runner units;
      autostart = vm.autostart or true;
      restartIfChanged = vm.restartIfChanged or true;
      bridges = map (i: i.bridge) (builtins.filter (i: (i.type or "") == "bridge") (spec.interfaces or [ ]));
      user = spec.user or null;
    };

  vms = builtins.attrValues (builtins.mapAttrs vmFor cfg.vms);
  users = sortedUnique (builtins.filter (u: u != null) (map (v: v.user) vms));
  bridges = sortedUnique (builtins.concatLists (map (v: v.bridges) vms));
in
{
  options.microforge = {
    package = mkOption {
      type = types.package;
      default = pkgs.microforge or (pkgs.callPackage ./package.nix { });
      description = "The microforge that writes the runners and units.";
    };
    virtiofsdStyle = mkOption {
      type = types.enum [ "rust" "c" ];
      default = "rust";
      description = "Command line of pkgs.virtiofsd (nixpkgs' is the Rust virtiofsd).";
    };
    vms = mkOption {
      default = { };
      description = "microVMs of this host, by name.";
      type = types.attrsOf (
        types.submodule {
          options = {
            spec = mkOption {
              type = types.either types.path types.attrs;
              description = "The VM spec (docs/vm-spec.md): a JSON file or an attribute set; its name is the attribute name.";
            };
            storeDisk = mkOption {
              type = types.nullOr types.package;
              default = null;
              description = "A store disk from lib.mkStoreDisk (becomes the spec's storeDisk).";
            };
            autostart = mkOption {
              type = types.bool;
              default = true;
              description = "Start the VM with microforge-vms.target at boot.";
            };
            restartIfChanged = mkOption {
              type = types.bool;
              default = true;
              description = "Restart the VM when a switch changes its runner.";
            };
          };
        }
      );
    };
  };

  config = lib.mkIf (cfg.vms != { }) {
    # a VM name becomes unit names, file names and script words: only names the CLI accepts (VmSpec.NAME)
    assertions = map (v: {
      assertion = builtins.match vmNameRule v.name != null;
      message = "microforge.vms.${builtins.toJSON v.name}: a VM name must match ${vmNameRule} (letters, digits, '_', '.', '-'; at most 63 characters, not starting with '.' or '-')";
    }) vms;
    systemd.packages = map (v: v.units) vms;
    systemd.targets.microforge-vms = {
      description = "microVMs managed by microforge";
      wantedBy = [ "multi-user.target" ];
    };
    systemd.services = builtins.listToAttrs (
      map (v: {
        name = "microforge-vm@${v.name}";
        value = {
          overrideStrategy = "asDropin";
          wantedBy = if v.autostart then [ "microforge-vms.target" ] else [ ];
          inherit (v) restartIfChanged;
          # a new runner changes the drop-in, so a switch restarts (or, without restartIfChanged, keeps) the VM
          restartTriggers = [ v.runner ];
        };
      }) vms
    );
    # the declared runner: what microforge-vm@NAME starts and `microforge vm list` compares with `booted`
    systemd.tmpfiles.rules = builtins.concatLists (
      map (v: [
        "d ${lib.escapeShellArg "${stateDir}/${v.name}"} 0755 root root -"
        "L+ ${lib.escapeShellArg "${stateDir}/${v.name}/current"} - - - - ${v.runner}"
      ]) vms
    );
    users.users = builtins.listToAttrs (
      map (u: {
        name = u;
        value = {
          isSystemUser = true;
          group = u;
          extraGroups = [ "kvm" "disk" ];
        };
      }) users
    );
    users.groups = builtins.listToAttrs (map (u: { name = u; value = { }; }) users);
    environment.etc = if bridges == [ ] then { } else {
      "qemu/bridge.conf".text = builtins.concatStringsSep "" (map (b: "allow ${b}\n") bridges);
    };
    boot.kernelModules = [ "tun" "vhost_net" "macvtap" ];
    environment.systemPackages = [ cfg.package ];
  };
}
