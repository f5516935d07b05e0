# A stand-in for nixpkgs, for the offline tests of nix/ and flake.nix (no nixpkgs is available there).
# It has the flake shape (`legacyPackages.<system>`, `lib.nixosSystem`) and the few packages and
# functions microforge's Nix code uses, made from `builtins.derivation` and the host's /bin/bash,
# /usr/bin tools and /usr/bin/java. Impure on purpose (host paths), so it only works with the sandbox
# off, as in the test environment.
#
#   microforgeCommand: absolute path of a microforge launcher outside the store (readable by the
#                      build users); every `microforge` package of this stub runs it
#   microforgeVersion: any string that changes when that microforge changes (so results rebuild)
#   mavenRepo:         a directory laid out like a Maven repository (the local one, ~/.m2/repository, or
#                      a copy readable by the build users); `fetchurl` takes mirror://maven/ URLs from it
#   jdkHome:           a JDK of this machine (bin/javac, bin/jar, bin/java): jdk17_headless, jre_headless
{
  microforgeCommand ? "/bin/false",
  microforgeVersion ? "unknown",
  mavenRepo ? null,
  jdkHome ? null,
}:
let
  lib = import ./lib.nix;
  pkgsFor =
    system:
    import ./pkgs.nix {
      inherit
        lib
        system
        microforgeCommand
        microforgeVersion
        mavenRepo
        jdkHome
        ;
    };
  host = pkgsFor builtins.currentSystem;
in
{
  lib = lib // {
    # evaluates each module against stub arguments (so a module that does not evaluate fails here)
    # and returns a system whose toplevel is a small fake closure with an /init
    nixosSystem =
      {
        system,
        modules ? [ ],
        ...
      }:
      let
        pkgs = pkgsFor system;
        config = {
          system.build = {
            toplevel = pkgs.fakeToplevel;
            kernel = pkgs.fakeKernel;
            initialRamdisk = pkgs.fakeInitrd;
          };
          system.boot.loader = {
            kernelFile = "bzImage";
            initrdFile = "initrd";
          };
          boot.kernelParams = [ "loglevel=4" ];
        };
        evalModule =
          m:
          let
            f = if builtins.isFunction m then m else import m;
            r = if builtins.isFunction f then f { inherit config lib pkgs; } else f;
          in
          builtins.attrNames r;
        make =
          mods:
          let
            checked = builtins.deepSeq (map evalModule mods) true;
          in
          {
            config = if checked then config else throw "unreachable";
            # the extra modules are evaluated too (e.g. an emitted guest module, imported from a derivation)
            extendModules = { modules ? [ ], ... }: make (mods ++ modules);
          };
      in
      make modules;
  };
  legacyPackages = {
    x86_64-linux = if builtins.currentSystem == "x86_64-linux" then host else pkgsFor "x86_64-linux";
    aarch64-linux = if builtins.currentSystem == "aarch64-linux" then host else pkgsFor "aarch64-linux";
  };
  pkgs = host;
}
