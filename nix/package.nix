# microforge built from its sources with javac and jar, against the runtime jars locked in nix/deps.json
# (one fetchurl per jar from `mirror://maven/`, each checked against the lock's sha256). No Maven runs here,
# so there is no fixed-output hash of a whole dependency tree to maintain: when the pom's dependencies
# change, `bash nix/update-deps.sh` rewrites the lock (docs/nix.md).
#
# Three derivations:
#   unwrapped  (passthru.unwrapped) the jar, its lib/ and the launcher, as the Maven build lays out target/
#              (README: "The launcher"); bit-for-bit reproducible
#   cds        (passthru.cds) microforge.jsa, the class-data sharing archive the launcher maps at start
#              (src/main/cds/train.sh): dumped by jre_headless' java for unwrapped's jar at its store path (the
#              JVM checks path, size and mtime, which Nix fixes at 1, of the jar and of every lib/ jar). NOT
#              reproducible: JDK 17's -Xshare:dump writes different bytes on every run from the same class list
#              (docs/benchmarks.md, session 7), so it is its own derivation and the other two stay reproducible.
#   the package: share/microforge holds links to unwrapped's files and to the archive, bin/microforge the
#              launcher with JAVA defaulting to jre_headless:
#   share/microforge/microforge          the launcher script (src/main/sh), JVM options and JIT profiles
#   share/microforge/*.jit.json          its JIT profiles (src/main/sh)
#   share/microforge/microforge.jar      the application; its manifest carries what the shaded jar's does
#                                        (Main-Class, Add-Opens, Enable-Native-Access, Multi-Release,
#                                        Implementation-Version) and a Class-Path to lib/
#   share/microforge/lib/*.jar           the locked runtime jars, byte for byte as published
#   share/microforge/microforge.jsa      the archive (a JVM other than jre_headless' ignores it, silently)
#   bin/microforge                       the launcher, with JAVA defaulting to jre_headless
#
# A Class-Path manifest rather than one merged jar: each dependency stays the exact file whose sha256 is in
# the lock (auditable with sha256sum), and nothing of the shade plugin's merging (service files,
# signatures, module-info, versioned classes of multi-release jars) has to be redone in shell; the JVM
# applies Multi-Release to each jar on the Class-Path by that jar's own manifest. `java -jar microforge.jar`
# works as long as lib/ stays beside the jar, which the launcher guarantees.
{
  lib,
  stdenvNoCC,
  fetchurl,
  jdk17_headless,
  jre_headless,
  makeWrapper,
}:
let
  pom = builtins.readFile ../pom.xml;
  # the text between the first <tag> and </tag> of the pom (project version, output timestamp)
  pomValue =
    tag:
    let
      parts = builtins.split "</?${tag}>" pom;
    in
    if builtins.length parts < 5 then throw "nix/package.nix: no <${tag}> in pom.xml" else builtins.elemAt parts 2;

  deps = builtins.fromJSON (builtins.readFile ./deps.json);
  fileName = d: "${d.artifactId}-${d.version}.jar";
  jarOf =
    d:
    fetchurl {
      url = "mirror://maven/${builtins.replaceStrings [ "." ] [ "/" ] d.groupId}/${d.artifactId}/${d.version}/${fileName d}";
      inherit (d) sha256;
    };
  jars = map jarOf deps;
  version = pomValue "version";

  unwrapped = stdenvNoCC.mkDerivation {
    pname = "microforge-unwrapped";
    inherit version;

    # only what the jar is built from: a change to tests or docs does not rebuild the package
    src = lib.cleanSourceWith {
      src = ../.;
      filter =
        path: type:
        let
          rel = lib.removePrefix (toString ../. + "/") (toString path);
        in
        rel == "src" || rel == "src/main" || lib.hasPrefix "src/main/" rel;
    };

    nativeBuildInputs = [ jdk17_headless ];

    # the Maven build's project.build.outputTimestamp: every jar entry gets this time (jar --date)
    buildDate = pomValue "project.build.outputTimestamp";
    classPath = builtins.concatStringsSep ":" jars;
    # one jar per manifest line (continuation lines start with a space, the second one separates the values)
    manifestClassPath = builtins.concatStringsSep "\n  " (map (d: "lib/${fileName d}") deps);

    buildPhase = ''
      runHook preBuild
      mkdir -p build/classes
      find src/main/java -name '*.java' | LC_ALL=C sort > build/sources.txt
      javac --release 17 -encoding UTF-8 -nowarn -d build/classes -cp "$classPath" @build/sources.txt
      if [ -d src/main/resources ]; then cp -r src/main/resources/. build/classes/; fi
      cat > build/MANIFEST.MF <<EOF
      Main-Class: dev.microforge.cli.Main
      Implementation-Title: microforge
      Implementation-Version: $version
      Add-Opens: java.base/sun.nio.fs
      Enable-Native-Access: ALL-UNNAMED
      Multi-Release: true
      Class-Path: $manifestClassPath
      EOF
      # entries in byte order, all with the same time: the same jar from the same sources
      (cd build/classes && find . -type f | sed 's|^\./||' | LC_ALL=C sort > ../entries.txt)
      (cd build/classes && jar --create --file ../microforge.jar --manifest ../MANIFEST.MF \
        --date "$buildDate" @../entries.txt)
      runHook postBuild
    '';

    installPhase = ''
      runHook preInstall
      share="$out/share/microforge"
      install -Dm444 build/microforge.jar "$share/microforge.jar"
      # the launcher and its JIT profiles: all of src/main/sh, as the Maven build copies it into target/
      for f in src/main/sh/*; do
        if [ -x "$f" ]; then mode=555; else mode=444; fi
        install -Dm"$mode" "$f" "$share/$(basename "$f")"
      done
      mkdir -p "$share/lib"
      ${lib.concatMapStrings (d: ''
        install -m444 ${jarOf d} "$share/lib/${fileName d}"
      '') deps}
      # the launcher's #!/bin/sh is rewritten by patchShebangs in the fixup phase
      runHook postInstall
    '';
  };

  cds = stdenvNoCC.mkDerivation {
    pname = "microforge-cds";
    inherit version;
    dontUnpack = true;
    installPhase = ''
      runHook preInstall
      mkdir -p "$out"
      sh ${../src/main/cds/train.sh} ${jre_headless}/bin/java ${unwrapped}/share/microforge/microforge.jar \
        "$out/microforge.jsa"
      runHook postInstall
    '';
  };
in
stdenvNoCC.mkDerivation {
  pname = "microforge";
  inherit version;
  dontUnpack = true;
  nativeBuildInputs = [ makeWrapper ];

  installPhase = ''
    runHook preInstall
    share="$out/share/microforge"
    mkdir -p "$share/lib"
    for f in ${unwrapped}/share/microforge/*; do
      if [ "$(basename "$f")" != lib ]; then ln -s "$f" "$share/"; fi
    done
    for f in ${unwrapped}/share/microforge/lib/*; do ln -s "$f" "$share/lib/"; done
    ln -s ${cds}/microforge.jsa "$share/microforge.jsa"
    makeWrapper "$share/microforge" "$out/bin/microforge" \
      --set-default JAVA ${jre_headless}/bin/java
    runHook postInstall
  '';

  passthru = { inherit unwrapped cds; };

  meta = {
    description = "Store-disk images, closure audits and microVM runners for Nix";
    mainProgram = "microforge";
    platforms = lib.platforms.linux;
  };
}
