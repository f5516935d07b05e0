{
  description = "microforge: store-disk images, closure audits and microVM runners for Nix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      pkgsFor = system: nixpkgs.legacyPackages.${system};
      microforgeLib = import ./nix/lib.nix { };

      # the example VM of the checks: the guest module plus a few lines of NixOS configuration
      exampleVM =
        system:
        nixpkgs.lib.nixosSystem {
          inherit system;
          modules = [
            self.nixosModules.guest
            ./nix/example-vm.nix
          ];
        };
    in
    {
      lib = microforgeLib;

      # built from the sources and the jars locked in nix/deps.json: evaluation needs nothing but nixpkgs
      # (no import from derivation, no fetch at evaluation time); the build fetches those jars, or finds
      # them in the store (`bash nix/update-deps.sh --seed-store`), see docs/nix.md
      packages = forAllSystems (system: {
        default = (pkgsFor system).callPackage ./nix/package.nix { };
        microforge = self.packages.${system}.default;
      });

      # `nix run github:OWNER/microforge -- audit size --closure ...`
      apps = forAllSystems (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/microforge";
          meta.description = "microforge command line";
        };
      });

      nixosModules.guest = ./nix/guest.nix;
      nixosModules.host = ./nix/host.nix;
      nixosModules.default = self.nixosModules.guest;

      nixosConfigurations.example = exampleVM "x86_64-linux";

      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
          microforge = self.packages.${system}.default;
          toplevel = (exampleVM system).config.system.build.toplevel;
        in
        {
          package = microforge;
          # fails the flake check with the audit report when the example guest outgrows its budget
          example-vm-closure = microforgeLib.auditClosure {
            inherit pkgs microforge;
            name = "example-vm-closure-audit";
            rootPaths = [ toplevel ];
            budget = "2G";
            forbid = [ "*-openjdk-*" ];
          };
          example-vm-store-disk = microforgeLib.mkStoreDisk {
            inherit pkgs microforge;
            rootPaths = [ toplevel ];
          };
        }
      );
    };
}
