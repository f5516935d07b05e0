# The package set of the stub (see default.nix).
{
  lib,
  system,
  microforgeCommand,
  microforgeVersion,
  mavenRepo,
  jdkHome,
}:
let
  # nixpkgs' runCommand, reduced: bash with `set -eu -o pipefail`, PATH from nativeBuildInputs plus the
  # host's /usr/bin:/bin, structured attributes honoured like stdenv does (source .attrs.sh, export
  # the outputs), `passthru` and `meta` kept out of the derivation
  runCommand =
    name: env: buildCommand:
    let
      structured = env.__structuredAttrs or false;
      inputs = env.nativeBuildInputs or [ ];
      path = builtins.concatStringsSep ":" (map (p: "${p}/bin") inputs ++ [ "/usr/bin:/bin" ]);
      prelude = ''
        if [ -n "''${NIX_ATTRS_SH_FILE:-}" ] && [ -e "$NIX_ATTRS_SH_FILE" ]; then
          source "$NIX_ATTRS_SH_FILE"
          for o in "''${!outputs[@]}"; do export "$o=''${outputs[$o]}"; done
        fi
        export PATH=${path}
        cd "$NIX_BUILD_TOP"
      '';
      drv = builtins.derivation (
        removeAttrs env [
          "passthru"
          "meta"
          "nativeBuildInputs"
        ]
        // {
          inherit name system;
          builder = "/bin/bash";
          args = [
            "-eu"
            "-o"
            "pipefail"
            "-c"
            # ends with a builtin: bash >= 5.1 execs the last simple command of a -c string, and a
            # coreutils program closes stdout/stderr (atexit close_stdout) before it exits; Nix takes the
            # EOF on the log pipe as the end of the build and SIGKILLs the builder's process group, which
            # then often dies of that signal ("failed due to signal 9") on a loaded machine
            (prelude + buildCommand + "\n:\n")
          ];
        }
        // (if structured then { } else { PATH = path; })
      );
    in
    drv // (env.passthru or { }) // { meta = env.meta or { }; };

  hostTool =
    name: target:
    runCommand "${name}-host" { } ''
      mkdir -p "$out/bin"
      ln -s ${target} "$out/bin/${name}"
    '';

  launcher =
    name:
    runCommand name
      {
        inherit microforgeVersion;
        meta.mainProgram = "microforge";
      }
      ''
        mkdir -p "$out/bin"
        printf '#!/bin/sh\nexec %s "$@"\n' ${microforgeCommand} > "$out/bin/microforge"
        chmod +x "$out/bin/microforge"
      '';

  # a small system-like closure: an /init and a few "packages" that refer to each other through file
  # contents, symlinks and a lone store path; executables, an empty file, a nested tree
  fakeLib = runCommand "libfake-1.0" { } ''
    mkdir -p "$out/lib/deep/er/still"
    head -c 200000 /dev/urandom > "$out/lib/libfake.so.1"
    ln -s libfake.so.1 "$out/lib/libfake.so"
    : > "$out/lib/empty"
    echo deep > "$out/lib/deep/er/still/file"
  '';
  fakeShell = runCommand "fakeshell-2.0" { } ''
    mkdir -p "$out/bin"
    printf '#!/bin/sh\n# links against ${fakeLib}/lib/libfake.so\necho fake shell\n' > "$out/bin/sh"
    chmod 755 "$out/bin/sh"
  '';
  fakeEtc = runCommand "etc" { } ''
    mkdir -p "$out/etc"
    echo "shell=${fakeShell}/bin/sh" > "$out/etc/profile"
    ln -s ${fakeLib}/lib "$out/etc/lib-link"
  '';
  fakeToplevel = runCommand "nixos-system-example-24.11" { } ''
    mkdir -p "$out"
    printf '#!%s\necho init\n' ${fakeShell}/bin/sh > "$out/init"
    chmod 755 "$out/init"
    ln -s ${fakeEtc}/etc "$out/etc"
    echo ${fakeShell} > "$out/sw-path"
  '';

  # kernel and initrd packages shaped like NixOS's (a directory holding bzImage / initrd)
  fakeKernel = runCommand "linux-6.1" { } ''
    mkdir -p "$out"
    echo not-a-kernel > "$out/bzImage"
  '';
  fakeInitrd = runCommand "initrd-linux-6.1" { } ''
    mkdir -p "$out"
    echo not-an-initrd > "$out/initrd"
  '';

  # nixpkgs' fetchurl for mirror://maven/ URLs only, as a real fixed-output derivation: the file comes from
  # the Maven repository `mavenRepo` instead of the network, and Nix refuses it unless its sha256 is the
  # one given (the output path depends only on the name and that hash, as with the real fetchurl)
  fetchurl =
    {
      url,
      sha256,
      name ? baseNameOf url,
    }:
    let
      prefix = "mirror://maven/";
      rel = lib.removePrefix prefix url;
    in
    if !(lib.hasPrefix prefix url) || builtins.match "[A-Za-z0-9._/-]+" rel == null || builtins.match "(.*/)?[.][.](/.*)?" rel != null then
      throw "stub fetchurl: only mirror://maven/ URLs of plain repository paths, not ${url}"
    else
      builtins.derivation {
        inherit name system url;
        src = if mavenRepo == null then "" else "${mavenRepo}/${rel}";
        builder = "/bin/bash";
        args = [
          "-eu"
          "-c"
          ''
            if [ -z "$src" ]; then echo "stub fetchurl: no mavenRepo given for $url" >&2; exit 1; fi
            /bin/cp "$src" "$out"
            :
          ''
        ];
        outputHashMode = "flat";
        outputHashAlgo = "sha256";
        outputHash = sha256;
      };

  # stdenv.mkDerivation, reduced to what nix/package.nix uses: the setup hooks of nativeBuildInputs
  # sourced, the source copied to ./source, buildPhase and installPhase run with runHook for the
  # pre/post hooks given as attributes (no src: nothing copied, as with dontUnpack); no fixup (the host's
  # /bin/sh serves the #!/bin/sh lines)
  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      hooks = lib.concatMapStrings (p: ''
        if [ -e ${p}/nix-support/setup-hook ]; then source ${p}/nix-support/setup-hook; fi
      '') (attrs.nativeBuildInputs or [ ]);
    in
    runCommand name (removeAttrs attrs [ "name" ]) (
      ''
        runHook() {
          local hook
          for hook in "$@"; do
            if [ -n "''${!hook:-}" ]; then eval "''${!hook}"; fi
          done
        }
      ''
      + hooks
      + ''
        if [ -n "''${src:-}" ]; then
          cp -r "$src" source
          chmod -R u+w source
          cd source
        fi
        eval "''${buildPhase:-}"
        eval "''${installPhase:-}"
      ''
    );

  jdk = runCommand "openjdk-host" { } (
    if jdkHome == null then
      ''
        echo "stub: no jdkHome given" >&2
        exit 1
      ''
    else
      ''
        mkdir -p "$out/bin"
        for f in ${jdkHome}/bin/*; do ln -s "$f" "$out/bin/"; done
      ''
  );

  self = {
    inherit
      fakeKernel
      fakeInitrd
      lib
      system
      runCommand
      fetchurl
      fakeToplevel
      fakeLib
      fakeShell
      ;
    stdenv.hostPlatform.system = system;
    stdenvNoCC = {
      inherit mkDerivation;
      hostPlatform.system = system;
    };
    callPackage =
      fn: overrides:
      let
        f = if builtins.isFunction fn then fn else import fn;
      in
      f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);
    jq = hostTool "jq" "/usr/bin/jq";
    runtimeShell = "/bin/sh";
    # the runner's run-time programs, as links to the host's (dangling where the host has none)
    qemu_kvm = hostTool "qemu-system-x86_64" "/usr/bin/qemu-system-x86_64";
    cloud-hypervisor = hostTool "cloud-hypervisor" "/usr/bin/cloud-hypervisor";
    firecracker = hostTool "firecracker" "/usr/bin/firecracker";
    crosvm = hostTool "crosvm" "/usr/bin/crosvm";
    kvmtool = hostTool "lkvm" "/usr/bin/lkvm";
    virtiofsd = hostTool "virtiofsd" "/usr/lib/qemu/virtiofsd";
    e2fsprogs = hostTool "mkfs.ext4" "/sbin/mkfs.ext4";
    xfsprogs = hostTool "mkfs.xfs" "/sbin/mkfs.xfs";
    btrfs-progs = hostTool "mkfs.btrfs" "/sbin/mkfs.btrfs";
    dosfstools = hostTool "mkfs.vfat" "/sbin/mkfs.vfat";
    jdk17_headless = jdk;
    jre_headless = if jdkHome == null then hostTool "java" "/usr/bin/java" else jdk;
    makeWrapper = runCommand "make-wrapper-hook" { } ''
      mkdir -p "$out/nix-support"
      cp ${./make-wrapper.sh} "$out/nix-support/setup-hook"
    '';
    microforge = launcher "microforge-stub";
  };
in
self
