# The embedded example: a small real closure built by Nix 2.8 (no nixpkgs). tests/example/store holds a copy
# of its store paths and tests/example/closure.json what `nix path-info --json --recursive` says about them;
# tests/example/update.sh rebuilds and refreshes both, and an oracle test checks the copy against Nix.
# No empty directories (git would drop them) and ASCII names only, so a git checkout is byte-exact.
let
  mk = name: script: builtins.derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "set -e; ${script}" ];
    PATH = "/usr/bin:/bin";
  };
  greeting = mk "example-greeting-1.0" ''
    mkdir -p $out/share/greeting
    printf 'Hello from a store path!\n' > $out/share/greeting/message
    printf 'The greeting library of the microforge example.\n' > $out/share/greeting/README
  '';
  hello = mk "example-hello-1.0" ''
    mkdir -p $out/bin $out/share
    printf '#!/bin/sh\nexec cat %s/share/greeting/message\n' ${greeting} > $out/bin/hello
    chmod 0755 $out/bin/hello
    ln -s ${greeting}/share/greeting $out/share/greeting
  '';
  app = mk "example-app-1.0" ''
    mkdir -p $out/etc $out/bin
    printf 'hello=%s/bin/hello\nself=%s\n' ${hello} "$out" > $out/etc/app.conf
    ln -s ${hello}/bin/hello $out/bin/app
  '';
in
app
