# A benchmark corpus shaped like a NixOS system closure, built by Nix 2.8 (no nixpkgs) from this machine's
# own files: ELF libraries and binaries, many small files (docs, man pages, Python and Perl modules),
# symlinks (library version links, a buildEnv-like system profile), duplicate files across store paths,
# and references between the paths (through file contents and symlink targets).
# Built by bench/corpus.sh; see bench/README.md.
{ }:
let
  mk = name: script: builtins.derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "set -e; ${script}" ];
    PATH = "/usr/bin:/bin";
  };
  # copy host files into $out/<dest>, dropping anything that is not a file, directory or symlink
  copy = name: deps: script: mk name ''
    mkdir -p $out/nix-support
    ${script}
    find $out ! -type f ! -type d ! -type l -delete
    for d in ${toString deps}; do echo $d; done > $out/nix-support/propagated-build-inputs
  '';

  libsA = copy "host-libs-a-k" [ ] ''
    mkdir -p $out/lib
    find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '[a-k]*.so*' \( -type f -o -type l \) -exec cp -P {} $out/lib/ \;
  '';
  libsL = copy "host-libs-l-z" [ libsA ] ''
    mkdir -p $out/lib
    find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '[l-z]*.so*' \( -type f -o -type l \) -exec cp -P {} $out/lib/ \;
    echo ${libsA}/lib > $out/lib/ld.so.conf
  '';
  python = copy "host-python3" [ libsA libsL ] ''
    mkdir -p $out/lib
    cp -a /usr/lib/python3 /usr/lib/python3.11 $out/lib/
    mkdir -p $out/bin
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/lib:%s/lib exec /usr/bin/python3 "$@"\n' ${libsA} ${libsL} > $out/bin/python3
    chmod +x $out/bin/python3
  '';
  pythonDup = copy "host-python3-env" [ python ] ''
    mkdir -p $out/lib
    cp -a ${python}/lib/python3.11 $out/lib/
    ln -s ${python}/bin/python3 $out/python3
  '';
  perl = copy "host-perl" [ libsA ] ''
    mkdir -p $out/share $out/lib
    cp -a /usr/share/perl $out/share/
    cp -a /usr/lib/x86_64-linux-gnu/perl $out/lib/
  '';
  git = copy "host-git" [ perl libsL ] ''
    mkdir -p $out/libexec
    cp -a /usr/lib/git-core $out/libexec/
    echo "PERL5LIB=${perl}/share/perl" > $out/libexec/git-core/env
  '';
  bin = copy "host-bin" [ libsA libsL python perl ] ''
    mkdir -p $out/bin
    cp -P /usr/bin/* $out/bin/ 2>/dev/null || true
    printf '#!/bin/sh\nexec %s/bin/python3 "$@"\n' ${python} > $out/bin/py-wrapper
    chmod +x $out/bin/py-wrapper
  '';
  man = copy "host-man" [ ] ''
    mkdir -p $out/share
    cp -a /usr/share/man $out/share/
  '';
  # one small store path per initial letter of /usr/share/doc/<package>: many paths, like a real closure
  docLetters = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  docOf = l: copy "host-doc-${l}" [ man ] ''
    mkdir -p $out/share/doc
    for d in /usr/share/doc/${l}*; do [ -e "$d" ] && cp -a "$d" $out/share/doc/; done
    echo ${man}/share/man > $out/nix-support/manpath
  '';
  docPaths = map docOf docLetters;
  docs = mk "host-docs" ''
    mkdir -p $out/share/doc
    for p in ${toString docPaths}; do
      for d in $p/share/doc/*; do [ -e "$d" ] && ln -s "$d" "$out/share/doc/$(basename "$d")"; done
    done
    ln -s ${man}/share/man $out/share/man
  '';
  system = mk "corpus-system" ''
    mkdir -p $out/sw/bin $out/sw/lib $out/etc
    for f in ${bin}/bin/*; do ln -s "$f" "$out/sw/bin/$(basename "$f")"; done
    for f in ${libsA}/lib/* ${libsL}/lib/*; do ln -sf "$f" "$out/sw/lib/$(basename "$f")"; done
    ln -s ${docs}/share $out/sw/share
    ln -s ${git}/libexec/git-core $out/sw/git-core
    ln -s ${pythonDup} $out/python-env
    printf 'PATH=%s/sw/bin\nMANPATH=%s/share/man\n' "$out" ${docs} > $out/etc/profile
    printf '%s\n' ${libsA}/lib ${libsL}/lib > $out/etc/ld.so.conf
  '';
in
{ inherit libsA libsL python pythonDup perl git bin man docs system; }
