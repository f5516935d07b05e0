# The flake's outputs, called the way `nix flake` would call them, with the stub nixpkgs as input.
{
  microforgeCommand ? "/bin/false",
  microforgeVersion ? "eval",
}:
let
  flake = import ../../flake.nix;
  nixpkgs = import ./stub-nixpkgs { inherit microforgeCommand microforgeVersion; };
  self = flake.outputs { inherit self nixpkgs; } // {
    outPath = toString ../..;
  };
in
self
