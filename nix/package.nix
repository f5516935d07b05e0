# microforge built with nixpkgs' Maven support and wrapped with a headless JRE.
{
  lib,
  maven,
  jre_headless,
  makeWrapper,
  # the fixed-output hash of the Maven dependency set; nixpkgs prints the right value on a mismatch
  # (it depends on the pom and on nixpkgs' Maven version, so update it together with either)
  mvnHash ? lib.fakeHash,
}:
maven.buildMavenPackage {
  pname = "microforge";
  version = "0.1.0";

  src = lib.cleanSourceWith {
    src = ../.;
    filter =
      path: type:
      let
        base = baseNameOf path;
      in
      !(
        base == "target"
        || base == "result"
        || lib.hasPrefix "result-" base
        || base == ".git"
        || base == "bench"
      );
  };

  inherit mvnHash;
  # the test suite needs Nix, QEMU and the filesystem tools: it runs in CI (tests/run-all.sh), not here
  mvnParameters = "-DskipTests";
  doCheck = false;

  nativeBuildInputs = [ makeWrapper ];

  installPhase = ''
    runHook preInstall
    # the launcher script with the jar and its JIT profile beside it (README: "The launcher"); its #!/bin/sh
    # is rewritten by patchShebangs in the fixup phase
    install -Dm444 target/microforge.jar "$out/share/microforge/microforge.jar"
    install -Dm444 target/hashing.jit.json "$out/share/microforge/hashing.jit.json"
    install -Dm555 target/microforge "$out/share/microforge/microforge"
    makeWrapper "$out/share/microforge/microforge" "$out/bin/microforge" \
      --set-default JAVA ${jre_headless}/bin/java
    runHook postInstall
  '';

  meta = {
    description = "Store-disk images, closure audits and microVM runners for Nix";
    mainProgram = "microforge";
    platforms = lib.platforms.linux;
  };
}
