# The builds of the nix/ wrapper, made offline with Nix 2.8 and the stub nixpkgs: real store disks from
# real store paths inside real Nix builds, runners, closure audits. Driven by NixBuildOracleTest.
#
#   nix-build tests/nix/build.nix -A <attr> --argstr microforgeCommand /abs/launcher \
#     --argstr microforgeVersion <hash> --argstr kernelFile /boot/vmlinuz-...
#     [--argstr mavenRepo ~/.m2/repository --argstr jdkHome /usr/lib/jvm/java-17-openjdk-amd64]
{
  microforgeCommand,
  microforgeVersion ? "unknown",
  kernelFile ? null,
  # for `package` (nix/package.nix built from the lock): see stub-nixpkgs/default.nix
  mavenRepo ? null,
  jdkHome ? null,
}:
let
  stub = import ./stub-nixpkgs {
    inherit
      microforgeCommand
      microforgeVersion
      mavenRepo
      jdkHome
      ;
  };
  pkgs = stub.pkgs;
  mf = import ../../nix/lib.nix { };
  toplevel = pkgs.fakeToplevel;

  # the kernel as a source path in the store (no references): what a NixOS kernel package would be
  kernel =
    if kernelFile == null then
      pkgs.runCommand "fake-kernel" { } "echo not-a-kernel > $out"
    else
      builtins.path {
        path = kernelFile;
        name = "vmlinuz";
      };

  # the closure of the toplevel as a file (exportReferencesGraph format), for `image verify`
  closureOf =
    roots:
    pkgs.runCommand "closure" {
      exportReferencesGraph = [
        "closure"
        roots
      ];
    } "cp closure $out";

  spec = {
    name = "nixtest";
    mem = 256;
    vcpu = 1;
    kernelParams = [ "console=ttyS0" ];
    volumes = [
      {
        image = "var.img";
        size = 16;
        mountPoint = "/var";
        autoCreate = true;
      }
    ];
    interfaces = [
      {
        type = "user";
        id = "usernet";
      }
    ];
  };
in
rec {
  inherit toplevel kernel;

  # nix/package.nix, built from the jars of nix/deps.json (fetched from mavenRepo, checked against the
  # lock's sha256) and the sources, with the JDK at jdkHome
  package = pkgs.callPackage ../../nix/package.nix { };
  # a jar of the lock under a wrong sha256: the fixed-output fetch must refuse it
  wrong-hash-jar = pkgs.fetchurl {
    url = "mirror://maven/info/picocli/picocli/4.7.6/picocli-4.7.6.jar";
    sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
  };
  closure = closureOf toplevel;

  # structured attributes (closure as JSON through jq), erofs; Nix 2.8 cannot discard references,
  # so this also exercises the masked two-step build that keeps the image reference-free
  disk-erofs = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
  };
  # what Nix >= 2.18 gets by default: one derivation, structured attributes, unsafeDiscardReferences
  # (only instantiated here: Nix 2.8 ignores the attribute)
  disk-discard = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    discardReferences = true;
    name = "nix-store-discard.erofs";
  };
  # with a registration file at the image root, for nix-store --load-db in the guest
  disk-registration = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    registration = "nix-path-registration";
    name = "nix-store-reg.erofs";
  };
  # a store disk that binary caches may keep (substitutable, buildable remotely)
  disk-cacheable = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    cacheable = true;
    name = "nix-store-cacheable.erofs";
  };
  # the plain exportReferencesGraph text form, squashfs
  disk-squashfs = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    type = "squashfs";
    structuredAttrs = false;
  };
  # squashfs with the structured closure (narHashes), and the same closure rebuilt from it with
  # `previous` (image build --reuse): the two images must be the same bytes
  disk-squashfs-structured = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    type = "squashfs";
    name = "nix-store-structured.squashfs";
  };
  disk-squashfs-reuse = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    type = "squashfs";
    previous = disk-squashfs-structured;
    name = "nix-store-reuse.squashfs";
  };
  # erofs (lz4hc) rebuilt from disk-erofs with `previous`: the same bytes as disk-erofs
  disk-erofs-reuse = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    previous = disk-erofs;
    name = "nix-store-reuse.erofs";
  };
  # with references kept (what Nix < 2.18 does without the masking), uncompressed so that the store
  # path hashes are plainly in the image: for comparison in the test
  disk-with-references = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    type = "squashfs";
    compression = "none";
    referenceFree = false;
    name = "nix-store-with-refs.squashfs";
  };

  # EROFS with the compressors a newer guest kernel reads, with level and big pclusters: evaluated and
  # instantiated only (NixErofsCompressionOracleTest); one derivation each (discardReferences)
  disk-erofs-zstd = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    compression = "zstd";
    level = 19;
    pcluster = 131072;
    discardReferences = true;
    name = "nix-store-zstd.erofs";
  };
  disk-erofs-lzma = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    compression = "lzma";
    pcluster = 1048576;
    discardReferences = true;
    name = "nix-store-lzma.erofs";
  };
  disk-erofs-deflate = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    compression = "deflate";
    level = 9;
    discardReferences = true;
    name = "nix-store-deflate.erofs";
  };
  # refused at evaluation: a compression erofs does not have, a pcluster for squashfs
  disk-erofs-xz = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    compression = "xz";
  };
  disk-squashfs-pcluster = mf.mkStoreDisk {
    inherit pkgs;
    rootPaths = [ toplevel ];
    type = "squashfs";
    pcluster = 65536;
  };
  # mkMicroVM with an EROFS zstd store disk: its guest module's spec carries the compression
  vm-zstd = mf.mkMicroVM {
    inherit pkgs toplevel kernel spec;
    compression = "zstd";
  };
  erofs-kernel-needs = mf.erofsKernelNeeds;

  vm = mf.mkMicroVM {
    inherit pkgs toplevel kernel spec;
    storeType = "squashfs";
  };
  runner = vm;

  # mkMicroVM from an evaluated system: the emitted module joins it through extendModules (imported from the
  # guestModule derivation), kernel, initrd and parameters come from its config
  system = stub.lib.nixosSystem {
    system = builtins.currentSystem;
    modules = [ ../../nix/guest.nix ];
  };
  vm-from-config = mf.mkMicroVM {
    inherit pkgs spec;
    nixosConfiguration = system;
    storeType = "squashfs";
  };
  runner-disk = vm.storeDisk;
  guest-module = vm.guestModule;

  runner-squashfs = mf.mkRunner {
    inherit pkgs;
    storeDisk = disk-squashfs;
    spec = spec // {
      kernel = "${kernel}";
      kernelParams = spec.kernelParams ++ [ "init=${builtins.unsafeDiscardStringContext toplevel}/init" ];
    };
  };

  audit-too-small = mf.auditClosure {
    inherit pkgs;
    name = "audit-too-small";
    rootPaths = [ toplevel ];
    budget = 1000;
  };
  audit-large-enough = mf.auditClosure {
    inherit pkgs;
    name = "audit-large-enough";
    rootPaths = [ toplevel ];
    budget = "64M";
  };
  audit-structured = mf.auditClosure {
    inherit pkgs;
    name = "audit-structured";
    rootPaths = [ toplevel ];
    budget = "64M";
    structuredAttrs = true;
  };
  audit-forbidden = mf.auditClosure {
    inherit pkgs;
    name = "audit-forbidden";
    rootPaths = [ toplevel ];
    budget = "64M";
    forbid = [ "*-libfake-*" ];
  };
}
