# The flake's outputs, called the way `nix flake` would call them, with the stub nixpkgs as input.
# mavenRepo and jdkHome: for building the package (see stub-nixpkgs/default.nix); evaluation needs neither.
{
  microforgeCommand ? "/bin/false",
  microforgeVersion ? "eval",
  mavenRepo ? null,
  jdkHome ? null,
}:
let
  flake = import ../../flake.nix;
  nixpkgs = import ./stub-nixpkgs {
    inherit
      microforgeCommand
      microforgeVersion
      mavenRepo
      jdkHome
      ;
  };
  self = flake.outputs { inherit self nixpkgs; } // {
    outPath = toString ../..;
  };
in
self
