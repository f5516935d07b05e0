# A closure of more than 4 GiB for the memory bound of the image writers (docs/benchmarks.md): the bench corpus
# (corpus.nix) plus store paths copied from this machine's larger /usr/lib trees (a cloud SDK of many small Python
# files, a JDK, kernel modules, LLVM, a browser, GCC). Trees missing on a machine give empty paths.
# Built by bench/corpus-big.sh.
{ }:
let
  base = import ./corpus.nix { };
  mk = name: deps: script: builtins.derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ''
      set -e
      mkdir -p $out/nix-support
      ${script}
      find $out ! -type f ! -type d ! -type l -delete
      for d in ${toString deps}; do echo $d; done > $out/nix-support/propagated-build-inputs
    '' ];
    PATH = "/usr/bin:/bin";
  };
  tree = dir: mk "host-usr-lib-${dir}" [ base.libsA ] ''
    mkdir -p $out/lib
    if [ -d /usr/lib/${dir} ]; then cp -a /usr/lib/${dir} $out/lib/; fi
  '';
  trees = map tree [ "google-cloud-sdk" "jvm" "modules" "llvm-14" "chromium" "gcc" ];
  system = mk "corpus-big-system" ([ base.system ] ++ trees) ''
    ln -s ${base.system} $out/base
    i=0
    for t in ${toString trees}; do i=$((i + 1)); ln -s "$t" "$out/tree-$i"; done
  '';
in
{ inherit system; }
