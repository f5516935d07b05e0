# The microforge Nix build wrapper: store disks, runners, microVMs and closure audits as ordinary,
# pure derivations (no local state, no impure paths), so remote builders and Hydra can build them.
#
# Every function takes `pkgs` (a nixpkgs package set; only `runCommand`, `jq` and, for the default
# `microforge`, `callPackage` are used) and otherwise only builtins, so it evaluates with any nixpkgs.
#
# Usage: `(import ./nix/lib.nix { }).mkStoreDisk { inherit pkgs; rootPaths = [ toplevel ]; }`
# or, from the flake, `microforge.lib.mkStoreDisk { ... }`.
{ }:
let
  # Nix >= 2.18 honours `unsafeDiscardReferences` without an experimental feature (2.14 to 2.17 need
  # `--extra-experimental-features discard-references`; pass `discardReferences = true` there).
  nixDiscardsReferences = builtins.compareVersions builtins.nixVersion "2.18" >= 0;

  defaultMicroforge = pkgs: pkgs.microforge or (pkgs.callPackage ./package.nix { });

  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;

  # A string's value without its context: the text of a store path without depending on it.
  textOf = builtins.unsafeDiscardStringContext;

  # Single-quote a value for the builders' shell scripts (the one shell-quoting helper of this file).
  shellQuote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";

  # exportReferencesGraph for a list of roots. Structured: one JSON list under "closure" (read with jq
  # from $NIX_ATTRS_JSON_FILE). Plain: one text file per root (closure-0, closure-1, ...), merged into
  # `closure` by `mergeClosures` without repeating a path.
  referencesGraph =
    structured: rootPaths:
    if structured then
      {
        __structuredAttrs = true;
        exportReferencesGraph.closure = rootPaths;
      }
    else
      {
        exportReferencesGraph = builtins.concatLists (
          builtins.genList (i: [
            "closure-${toString i}"
            (builtins.elemAt rootPaths i)
          ]) (builtins.length rootPaths)
        );
      };

  # shell: leaves the closure file in the build directory; prints its name
  closureScript =
    pkgs: structured:
    if structured then
      ''
        ${pkgs.jq}/bin/jq '.closure' "$NIX_ATTRS_JSON_FILE" > closure.json
      ''
    else
      ''
        # records: path, deriver, count, count references; keep the first record of each path
        awk '{
          if (st == 0) { skip = ($0 in seen); seen[$0] = 1 }
          if (!skip) print
          if (st == 0) st = 1
          else if (st == 1) st = 2
          else if (st == 2) { n = $0 + 0; st = n > 0 ? 3 : 0 }
          else if (--n == 0) st = 0
        }' closure-* > closure
      '';

  # The spec as an attribute set: a path or string naming a JSON file, or the set itself.
  readSpec =
    spec:
    if builtins.isAttrs spec then
      spec
    else
      builtins.fromJSON (builtins.readFile spec);

  # Attributes of derivations whose output is large and cheap to rebuild (store disks): build them
  # where they are needed and never fetch them from a binary cache. An image is a re-packaging of the
  # store paths of its closure, which a cache holds anyway; caching the image stores those bytes a
  # second time (microvm.nix users: about 500 of 1,200 GiB of one cache) for a build that costs seconds.
  # `allowSubstitutes = false`: Nix does not ask the caches for the output, it builds it;
  # `preferLocalBuild = true`: built on the local machine, not shipped to a remote builder (whose
  # output would have to be copied back). Neither attribute stops a cache uploader that pushes whole
  # closures (`cachix push`, `nix copy --to`): it must skip such paths itself (docs/nix.md).
  # `cacheable = true` restores the defaults (e.g. for a VM that must start without the closure).
  # Per function: mkStoreDisk (both stages) and mkRunner with a store disk use it; guestModule and
  # auditClosure produce a few kilobytes whose inputs a builder needs anyway, so they stay ordinary.
  localBuild =
    cacheable:
    if cacheable then
      { }
    else
      {
        allowSubstitutes = false;
        preferLocalBuild = true;
      };

  # `image build --compression` values per type
  erofsCompressions = [ "lz4hc" "lz4" "none" "zstd" "lzma" "deflate" ];
  squashfsCompressions = [ "zstd" "xz" "gzip" "lz4" "none" ];
  # The EROFS compressors a guest kernel reads only from some release on, with the option that enables
  # them (fs/erofs/Kconfig); lz4 needs EROFS_FS_ZIP, which every EROFS kernel of NixOS has.
  erofsKernelNeeds = {
    lzma = {
      version = "5.16";
      option = "EROFS_FS_ZIP_LZMA";
    };
    deflate = {
      version = "6.6";
      option = "EROFS_FS_ZIP_DEFLATE";
    };
    zstd = {
      version = "6.10";
      option = "EROFS_FS_ZIP_ZSTD";
    };
  };

  # ---------------------------------------------------------------------------------------------
  mkStoreDisk =
    {
      pkgs,
      # the store paths whose closure goes on the disk (e.g. [ toplevel ])
      rootPaths,
      # "erofs" or "squashfs"
      type ? "erofs",
      # erofs: lz4hc, lz4, none, and zstd, lzma, deflate, which need a newer guest kernel than lz4
      # (`erofsKernelNeeds`; the guest module from mkMicroVM asserts it); squashfs: zstd, xz, gzip, lz4, none
      compression ? (if type == "erofs" then "lz4hc" else "zstd"),
      # --level for the compressor (null: microforge's default for it)
      level ? null,
      # erofs: --pcluster, the physical cluster size in bytes (a multiple of 4096 up to 1 MiB; null: 4096);
      # big pclusters are where zstd and lzma compress much better
      pcluster ? null,
      # erofs volume label (the guest module mounts /dev/disk/by-label/<label>)
      label ? "nix-store",
      # put a closureInfo-style `registration` file at the image root, for `nix-store --load-db`
      registration ? null,
      name ? "nix-store.${type}",
      microforge ? defaultMicroforge pkgs,
      # hand the closure over as structured attributes (JSON) instead of the plain text file
      structuredAttrs ? true,
      # keep the image free of runtime references with `unsafeDiscardReferences` (Nix >= 2.18 by default)
      discardReferences ? nixDiscardsReferences,
      # without `discardReferences`: still produce a reference-free image by building it masked
      # (every byte XOR 0x80, so no store path hash can be found in it) and unmasking it in a second
      # derivation whose inputs do not contain the closure; costs one extra copy of the image
      referenceFree ? true,
      # false (default): built locally, never substituted (see `localBuild`); true: an ordinary derivation
      cacheable ? false,
      # an earlier store disk of the same type (from mkStoreDisk) whose unchanged store paths are copied
      # instead of compressed again (`image build --reuse`); the image is byte for byte the one built without it.
      # This makes the new disk's build depend on the old disk's bytes (an input of the derivation), not
      # only on its closure. Store paths are matched by name and narHash, which only the structured
      # closure (structuredAttrs, the default) carries: with the plain text closure nothing is reused.
      previous ? null,
      extraArgs ? [ ],
    }:
    let
      useStructured = structuredAttrs || discardReferences;
      reuseArgs =
        if previous == null then
          [ ]
        else if (previous.storeDiskType or type) != type then
          throw "mkStoreDisk: previous must be a ${type} store disk (it is ${previous.storeDiskType})"
        else
          [ "--reuse" "${previous}" ];
      masked = !discardReferences && referenceFree;
      typeArgs =
        if type == "erofs" then
          [
            "--label"
            label
          ]
          ++ (if pcluster == null then [ ] else [ "--pcluster" (toString pcluster) ])
        else if type == "squashfs" then
          (if pcluster == null then [ ] else throw "mkStoreDisk: pcluster applies to type \"erofs\" only")
        else
          throw "mkStoreDisk: type must be \"erofs\" or \"squashfs\", not ${builtins.toJSON type}";
      compressions = if type == "erofs" then erofsCompressions else squashfsCompressions;
      checkedCompression =
        if builtins.elem compression compressions then
          compression
        else
          throw "mkStoreDisk: compression ${builtins.toJSON compression} is not one of ${builtins.toJSON compressions} (type ${type})";
      args =
        [
          "image"
          "build"
          "--type"
          type
          "--compression"
          checkedCompression
        ]
        ++ (if level == null then [ ] else [ "--level" (toString level) ])
        ++ typeArgs
        ++ (if registration == null then [ ] else [ "--registration" registration ])
        ++ reuseArgs
        ++ extraArgs;
      argv = builtins.concatStringsSep " " (map shellQuote args);
      closureFile = if useStructured then "closure.json" else "closure";
      # both derivations (masked and unmasked) hold a whole image: both stay out of caches
      disk = pkgs.runCommand (if masked then "${name}.masked" else name) (
        referencesGraph useStructured rootPaths
        // (if discardReferences then { unsafeDiscardReferences.out = true; } else { })
        // localBuild cacheable
      ) (
        closureScript pkgs useStructured
        + ''
          ${microforge}/bin/microforge ${argv} --closure ${closureFile} -o image
        ''
        + (
          if masked then
            "LC_ALL=C tr '\\000-\\377' '\\200-\\377\\000-\\177' < image > \"$out\"\n"
          else
            "mv image \"$out\"\n"
        )
      );
      unmasked = pkgs.runCommand name (localBuild cacheable) ''
        LC_ALL=C tr '\000-\377' '\200-\377\000-\177' < ${disk} > "$out"
      '';
      result = if masked then unmasked else disk;
    in
    # (not `type`: that attribute is what makes an attribute set a derivation)
    result
    // {
      storeDiskType = type;
      storeDiskCompression = checkedCompression;
      # null, or what the guest kernel needs to mount it: { version; option; } (`erofsKernelNeeds`)
      storeDiskKernelNeed = if type == "erofs" then erofsKernelNeeds.${checkedCompression} or null else null;
      storeDiskLabel = label;
      closureRoots = rootPaths;
      storeDiskCacheable = cacheable;
    };

  # The programs a runner calls at run time, from nixpkgs: the hypervisor, virtiofsd for virtiofs shares,
  # mkfs for volumes it formats (the clean shutdown is microforge's own client: no socat).
  runtimeInputsFor =
    pkgs: hypervisor: spec:
    let
      hypervisors = {
        qemu = pkgs.qemu_kvm or pkgs.qemu;
        cloud-hypervisor = pkgs.cloud-hypervisor;
        firecracker = pkgs.firecracker;
        crosvm = pkgs.crosvm;
        kvmtool = pkgs.kvmtool;
      };
      formatted = builtins.filter (v: (v.autoCreate or true) && (v.mountPoint or null) != null) (spec.volumes or [ ]);
      fsTypes = map (v: v.fsType or "ext4") formatted;
      has = t: builtins.elem t fsTypes;
    in
    [ (hypervisors.${hypervisor} or (throw "mkRunner: unknown hypervisor ${builtins.toJSON hypervisor}")) ]
    ++ (if builtins.any (sh: (sh.proto or "9p") == "virtiofs") (spec.shares or [ ]) then [ pkgs.virtiofsd ] else [ ])
    ++ (if has "ext4" || has "ext3" || has "ext2" then [ pkgs.e2fsprogs ] else [ ])
    ++ (if has "xfs" then [ pkgs.xfsprogs ] else [ ])
    ++ (if has "btrfs" then [ pkgs.btrfs-progs ] else [ ])
    ++ (if has "vfat" then [ pkgs.dosfstools ] else [ ]);

  # ---------------------------------------------------------------------------------------------
  mkRunner =
    {
      pkgs,
      # the VM spec (microvm.nix option names): an attribute set or a path to a JSON file
      spec,
      hypervisor ? (readSpec spec).hypervisor or "qemu",
      # a store disk from mkStoreDisk: becomes storeDisk/storeOnDisk of the spec
      storeDisk ? null,
      name ? "microvm-${(readSpec spec).name}-${hypervisor}",
      microforge ? defaultMicroforge pkgs,
      # put on the PATH of bin/microvm-run and bin/microvm-shutdown (default: runtimeInputsFor)
      runtimeInputs ? null,
      # false: built locally, never substituted (`localBuild`). The default follows the store disk: a
      # runner is a few scripts, but a remote builder would first be sent the image it refers to, and
      # substituting it needs the image from the cache
      cacheable ? (storeDisk == null || (storeDisk.storeDiskCacheable or true)),
    }:
    let
      base = readSpec spec;
      inputs = if runtimeInputs != null then runtimeInputs else runtimeInputsFor pkgs hypervisor base;
      binPath = builtins.concatStringsSep ":" (map (p: "${p}/bin") inputs);
      full =
        (if storeDisk == null then base else removeAttrs base [ "storeDiskType" ])
        // (
          if storeDisk == null then
            { }
          else
            {
              storeOnDisk = true;
              storeDisk = {
                image = "${storeDisk}";
                type = storeDisk.storeDiskType or "erofs";
              };
            }
        );
    in
    pkgs.runCommand name
      (
        {
          specJson = builtins.toJSON full;
          passAsFile = [ "specJson" ];
          passthru = {
            spec = full;
            inherit hypervisor;
          };
        }
        // localBuild cacheable
      )
      ''
        # microvm-run runs the preflight with this package's microforge (a runtime reference, on purpose)
        cp "$specJsonPath" vm.json
        ${microforge}/bin/microforge runner --spec vm.json --hypervisor ${shellQuote hypervisor} \
          --microforge ${microforge}/bin/microforge -o "$out"
        # pin the hypervisor and helpers: wrap each script with them first on PATH
        for f in "$out"/bin/*; do
          name=$(basename "$f")
          mv "$f" "$out/bin/.$name-unwrapped"
          {
            printf '#!%s\n' ${shellQuote pkgs.runtimeShell}
            printf 'PATH=%s${"$"}{PATH:+:$PATH}\nexport PATH\n' ${shellQuote binPath}
            printf 'exec %s "$@"\n' "$out/bin/.$name-unwrapped"
          } > "$f"
          chmod 755 "$f"
        done
      '';

  # ---------------------------------------------------------------------------------------------
  # The guest NixOS module for a spec, emitted by `microforge nix emit` (a derivation; import it).
  guestModule =
    {
      pkgs,
      spec,
      flavor ? "module",
      microforge ? defaultMicroforge pkgs,
    }:
    pkgs.runCommand "microforge-guest-${flavor}.nix"
      {
        # the module does not depend on the image's bytes: drop the store paths' context so emitting
        # it never builds the store disk (and cannot create a dependency cycle through it)
        specJson = textOf (builtins.toJSON (readSpec spec));
        passAsFile = [ "specJson" ];
      }
      ''
        cp "$specJsonPath" vm.json
        ${microforge}/bin/microforge nix emit --spec vm.json --flavor ${shellQuote flavor} -o "$out"
      '';

  # ---------------------------------------------------------------------------------------------
  mkMicroVM =
    {
      pkgs,
      # either an evaluated NixOS system (nixpkgs.lib.nixosSystem { ... }) ...
      nixosConfiguration ? null,
      # ... or a system toplevel with the kernel and initrd it boots (paths outside the toplevel,
      # so the runner never depends on the toplevel itself)
      toplevel ? null,
      kernel ? null,
      initrd ? null,
      # the rest of the VM spec (name, vcpu, mem, volumes, shares, interfaces, ...)
      spec ? { },
      hypervisor ? spec.hypervisor or "qemu",
      storeType ? "erofs",
      compression ? null,
      microforge ? defaultMicroforge pkgs,
      storeDiskArgs ? { },
    }:
    let
      name = spec.name or "microvm";
      specBase = spec // {
        inherit name;
        storeOnDisk = true;
      };
      guest = guestModule {
        inherit pkgs microforge;
        spec = specBase // {
          kernel = "/kernel";
          # with the compression, the module asserts that the guest kernel reads it
          storeDisk = {
            image = "/store.img";
            type = storeType;
            compression = disk.storeDiskCompression;
          };
        };
      };
      # with a NixOS configuration, the emitted guest module joins it
      system =
        if nixosConfiguration != null then
          nixosConfiguration.extendModules {
            modules = [
              ./guest.nix
              (import guest)
            ];
          }
        else
          null;
      cfg = system.config;
      top = if system != null then cfg.system.build.toplevel else toplevel;
      kernelPath =
        if system != null then
          "${cfg.system.build.kernel}/${cfg.system.boot.loader.kernelFile}"
        else if kernel != null then
          kernel
        else
          throw "mkMicroVM: give nixosConfiguration, or toplevel together with kernel and initrd";
      initrdPath =
        if system != null then
          "${cfg.system.build.initialRamdisk}/${cfg.system.boot.loader.initrdFile}"
        else
          initrd;
      params =
        (if system != null then cfg.boot.kernelParams else spec.kernelParams or [ ])
        # the init lives on the store disk: its path is text for the guest, not a runner dependency
        ++ [ "init=${textOf top}/init" ];
      disk = mkStoreDisk (
        {
          inherit pkgs microforge;
          rootPaths = [ top ];
          type = storeType;
        }
        // (if compression == null then { } else { inherit compression; })
        // storeDiskArgs
      );
      runner = mkRunner {
        inherit pkgs microforge hypervisor;
        storeDisk = disk;
        spec =
          specBase
          // {
            kernel = kernelPath;
            kernelParams = params;
          }
          // (if initrdPath == null then { } else { initrd = initrdPath; });
      };
    in
    runner
    // {
      storeDisk = disk;
      guestModule = guest;
      toplevel = top;
    };

  # ---------------------------------------------------------------------------------------------
  auditClosure =
    {
      pkgs,
      rootPaths,
      # the closure size budget: bytes, or a size such as "512M"
      budget,
      # a closure file of an earlier build to diff against (e.g. a checked-in path-info JSON)
      baseline ? null,
      # globs (names or whole paths) that must not be in the closure, e.g. [ "*-gcc-*" ]
      forbid ? [ ],
      name ? "closure-audit",
      microforge ? defaultMicroforge pkgs,
      structuredAttrs ? false,
    }:
    let
      args =
        [
          "audit"
          "size"
          "--budget"
          (toString budget)
          "--format"
          "text"
        ]
        ++ (if baseline == null then [ ] else [ "--baseline" "${baseline}" ])
        ++ builtins.concatMap (g: [
          "--forbid"
          g
        ]) forbid;
      closureFile = if structuredAttrs then "closure.json" else "closure";
    in
    pkgs.runCommand name (referencesGraph structuredAttrs rootPaths) ''
      ${closureScript pkgs structuredAttrs}
      # the report is the build log: a failing audit fails the check with it
      status=0
      ${microforge}/bin/microforge ${builtins.concatStringsSep " " (map shellQuote args)} --closure ${closureFile} > report.txt || status=$?
      cat report.txt
      if [ "$status" -ne 0 ]; then
        echo "closure audit failed (microforge exit code $status), see the report above" >&2
        exit "$status"
      fi
      mkdir -p "$out"
      cp report.txt "$out/report.txt"
    '';
in
{
  inherit
    mkStoreDisk
    mkRunner
    mkMicroVM
    auditClosure
    guestModule
    nixDiscardsReferences
    erofsKernelNeeds
    ;
}
// {
  # ---------------------------------------------------------------------------------------------
  # The microforge VM spec of a NixOS configuration that imports microvm.nix's guest module:
  # `mkRunner { inherit pkgs; spec = specFromMicrovm nixosConfigurations.my-vm.config; }`.
  # `builtins.toJSON config.microvm` itself fails: microvm.nix declares some options without a default
  # (interfaces.*.macvtap.link on a tap, volumes.*.size without autoCreate, storeDisk without a store
  # disk). This reads every option microforge knows, the unset ones as null; derivations become their
  # paths (the kernel the file microvm.nix's runner for the hypervisor boots: bzImage, or the dev
  # output's vmlinux for cloud-hypervisor, firecracker and crosvm); packages, runners and scripts of
  # the other hypervisors are left out. The name is networking.hostName.
  specFromMicrovm =
    config:
    let
      m = config.microvm;
      isDrv = v: builtins.isAttrs v && (v.type or null) == "derivation";
      orNull =
        v:
        let
          r = builtins.tryEval v;
        in
        if r.success then r.value else null;
      plain =
        v:
        if isDrv v then
          "${v}"
        else if builtins.isList v then
          map plain v
        else if builtins.isAttrs v then
          builtins.mapAttrs (_: plain) v
        else
          v;
      pick = names: set: builtins.listToAttrs (map (n: { name = n; value = plain set.${n}; }) names);
      vmlinux = builtins.elem m.hypervisor [ "cloud-hypervisor" "firecracker" "crosvm" ];
      kernel = if vmlinux then "${m.kernel.dev or m.kernel}/vmlinux" else "${m.kernel.out or m.kernel}/bzImage";
    in
    pick [
      "hypervisor" "vcpu" "mem" "kernelParams" "socket" "user" "preStart" "extraArgsScript" "cpu"
      "hugepageMem" "hotplugMem" "hotpluggedMem" "balloon" "initialBalloonMem" "deflateOnOOM"
      "forwardPorts" "registerWithMachined" "machineId" "storeOnDisk" "registerClosure"
      "writableStoreOverlay" "storeDiskType" "storeDiskErofsFlags" "storeDiskSquashfsFlags"
      "systemSymlink" "credentialFiles" "prettyProcnames" "initrdPath"
    ] m
    // {
      name = config.networking.hostName;
      inherit kernel;
      storeDisk = if m.storeOnDisk then plain (orNull m.storeDisk) else null;
      guest.enable = m.guest.enable;
      optimize.enable = m.optimize.enable;
      vsock.cid = m.vsock.cid;
      volumes = map (
        v:
        pick [ "image" "serial" "direct" "readOnly" "label" "autoCreate" "mkfsExtraArgs" "fsType" "imageType" ] v
        // {
          mountPoint = orNull v.mountPoint;
          size = orNull v.size;
        }
      ) m.volumes;
      interfaces = map (
        i:
        pick [ "type" "id" "bridge" ] i
        // {
          mac = orNull i.mac;
          tap.vhost = i.tap.vhost;
        }
        // (if i.type == "macvtap" then { macvtap = pick [ "link" "mode" ] i.macvtap; } else { })
      ) m.interfaces;
      shares = map (
        s:
        pick [ "tag" "socket" "source" "securityModel" "mountPoint" "proto" "readOnly" "cache" "posixAcl" "extraArgs" ] s
      ) m.shares;
      devices = map (d: pick [ "bus" "path" ] d // { qemu = pick [ "id" "bus" "deviceExtraArgs" ] d.qemu; }) m.devices;
      graphics = plain (removeAttrs m.graphics [ "crosvmPackage" ]);
      qemu = pick [ "machine" "machineOpts" "extraArgs" "serialConsole" "pcieRootPorts" ] m.qemu;
      cloud-hypervisor = pick [ "platformOEMStrings" "extraArgs" ] m.cloud-hypervisor;
      crosvm = pick [ "extraArgs" "pivotRoot" ] m.crosvm;
      firecracker = pick [ "cpu" "driveIoEngine" "extraArgs" "extraConfig" ] m.firecracker;
      virtiofsd = pick [ "inodeFileHandles" "threadPoolSize" "group" "extraArgs" ] m.virtiofsd;
    };
}
