package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.vm.VmSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EmitterTest {
    static Path resource(String name) {
        return dev.microforge.testkit.Tools.projectRoot().resolve("src/test/resources/nix").resolve(name);
    }

    @ParameterizedTest
    @CsvSource({"full,module", "full,microvm", "squashfs,module", "squashfs,microvm", "hoststore,module", "hoststore,microvm",
            "firecracker,module", "firecracker,microvm"})
    void matchesGoldenFiles(String spec, String flavor) throws Exception {
        Cli.Result r = Cli.run("nix", "emit", "--spec", resource(spec + ".json").toString(), "--flavor", flavor);
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(Files.readString(resource(spec + "." + flavor + ".nix"), StandardCharsets.UTF_8), r.out());
    }

    @Test
    void kernelModulesAreExactlyWhatTheSpecUses() throws Exception {
        VmSpec sq = VmSpec.read(resource("squashfs.json"));
        assertEquals(List.of("virtio_pci", "virtio_blk", "squashfs", "virtio_net"), Emitter.kernelModules(sq));
        VmSpec hs = VmSpec.read(resource("hoststore.json"));
        // no disks at all, so no virtio_blk
        assertEquals(List.of("virtio_pci", "overlay", "virtiofs"), Emitter.kernelModules(hs));
        VmSpec fc = VmSpec.read(resource("firecracker.json"));
        // firecracker: virtio-mmio only
        assertEquals(List.of("virtio_mmio", "virtio_blk", "squashfs", "virtio_net", "vmw_vsock_virtio_transport"),
                Emitter.kernelModules(fc));
    }

    @Test
    void vsockTransportAndFwCfgAreLoadedInTheInitrdNotOnlyAvailable() throws Exception {
        // microvm.nix #579: with only availableKernelModules nothing loads vmw_vsock_virtio_transport early
        VmSpec v = dev.microforge.vm.VmSpecReader.parse("{\"name\":\"v\",\"kernel\":\"/k\",\"storeOnDisk\":false,\"vsock\":{\"cid\":7},\"credentialFiles\":{\"K\":\"/run/k\"}}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), "vm.json", dev.microforge.util.Events.NONE);
        String nix = Emitter.emit(v, Emitter.Flavor.MODULE, "vm.json");
        assertTrue(nix.contains("kernelModules = [\n      \"vmw_vsock_virtio_transport\"\n      \"qemu_fw_cfg\"\n    ];")
                || nix.replaceAll("\\s+", " ").contains("kernelModules = [ \"vmw_vsock_virtio_transport\" \"qemu_fw_cfg\" ];"), nix);
        VmSpec none = dev.microforge.vm.VmSpecReader.parse("{\"name\":\"v\",\"kernel\":\"/k\",\"storeOnDisk\":false}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "vm.json", dev.microforge.util.Events.NONE);
        assertFalse(Emitter.emit(none, Emitter.Flavor.MODULE, "vm.json").contains(" kernelModules"));
    }

    @Test
    void withoutDiskSerialsDisksAreFoundInAttachOrder() throws Exception {
        // firecracker sets no serials: store disk vda, then the volumes in spec order (the raw one included)
        String fc = Emitter.emit(VmSpec.read(resource("firecracker.json")), Emitter.Flavor.MODULE, "firecracker.json");
        assertTrue(fc.contains("fileSystems.\"/nix/store\" = {\n    device = \"/dev/vda\";"), fc);
        assertTrue(fc.contains("fileSystems.\"/var\" = {\n    device = \"/dev/vdb\";"), fc);
        assertTrue(fc.contains("fileSystems.\"/data\" = {\n    device = \"/dev/vdd\";"), fc);
        assertEquals("a", Emitter.diskLetters(0));
        assertEquals("z", Emitter.diskLetters(25));
        assertEquals("aa", Emitter.diskLetters(26));
        assertEquals("az", Emitter.diskLetters(51));
        assertEquals("ba", Emitter.diskLetters(52));
        assertEquals("zz", Emitter.diskLetters(701));
        assertEquals("aaa", Emitter.diskLetters(702));
    }

    @Test
    void refusesWhatTheHypervisorCannotRun(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("vm.json");
        Files.writeString(spec, "{\"name\": \"x\", \"hypervisor\": \"firecracker\", \"kernel\": \"/k\","
                + " \"storeDisk\": {\"image\": \"s\", \"type\": \"erofs\"},"
                + " \"shares\": [{\"proto\": \"virtiofs\", \"tag\": \"t\", \"source\": \"/s\", \"mountPoint\": \"/m\"}]}");
        Cli.Result r = Cli.run("nix", "emit", "--spec", spec.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("vm.json") && r.err().contains("shares[0].proto") && r.err().contains("firecracker"), r.err());
    }

    @Test
    void storeDiskIsFoundByLabelForErofsAndBySerialForSquashfs() throws Exception {
        String erofs = Emitter.emit(VmSpec.read(resource("full.json")), Emitter.Flavor.MODULE, "full.json");
        assertTrue(erofs.contains("fileSystems.\"/nix/.ro-store\" = {\n    device = \"/dev/disk/by-label/nix-store\";"));
        String sq = Emitter.emit(VmSpec.read(resource("squashfs.json")), Emitter.Flavor.MODULE, "squashfs.json");
        assertTrue(sq.contains("device = \"/dev/disk/by-id/virtio-store0\";"));
        // the raw block device is not mounted
        assertFalse(sq.contains("nvme"));
    }

    @Test
    void writesAtomicallyAndChecks(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("guest.nix");
        String spec = resource("full.json").toString();
        Cli.Result w = Cli.run("nix", "emit", "--spec", spec, "-o", out.toString());
        assertEquals(0, w.exitCode(), w.err());
        assertEquals("", w.out());
        assertEquals(Files.readString(resource("full.module.nix")), Files.readString(out));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList(), "no temporary file left behind");
        }

        Cli.Result ok = Cli.run("nix", "emit", "--spec", spec, "-o", out.toString(), "--check");
        assertEquals(0, ok.exitCode(), ok.err());

        Files.writeString(out, Files.readString(out).replace("virtio-var", "virtio-vda"));
        byte[] stale = Files.readAllBytes(out);
        Cli.Result bad = Cli.run("nix", "emit", "--spec", spec, "-o", out.toString(), "--check");
        assertEquals(3, bad.exitCode());
        assertTrue(bad.err().contains("guest.nix: is stale (line "), bad.err());
        assertTrue(bad.err().lines().count() == 1, bad.err());
        assertEquals(List.of(stale.length), List.of(Files.readAllBytes(out).length), "--check never writes");

        Cli.Result missing = Cli.run("nix", "emit", "--spec", spec, "-o", dir.resolve("none.nix").toString(), "--check");
        assertEquals(3, missing.exitCode());
        assertTrue(missing.err().contains("none.nix: does not exist"), missing.err());
        assertFalse(Files.exists(dir.resolve("none.nix")));
    }

    @Test
    void badInputIsOneLineAndLeavesNoFile(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("guest.nix");
        Path spec = dir.resolve("vm.json");
        Files.writeString(spec, "{\"name\": \"x\", \"kernel\": \"/k\", \"volumes\": [{\"image\": \"a.img\", \"size\": 10, \"mountpoint\": \"/a\"}]}");
        Cli.Result r = Cli.run("nix", "emit", "--spec", spec.toString(), "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("vm.json") && r.err().contains("volumes[0].mountpoint") && r.err().contains("mountPoint"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertFalse(Files.exists(out));

        Files.writeString(spec, "{\"name\": \"x\", \"kernel\": \"/k\", \"storeDisk\": {\"image\": \"s\", \"type\": \"erofs\"},"
                + " \"writableStoreOverlay\": \"/a,b\"}");
        Cli.Result comma = Cli.run("nix", "emit", "--spec", spec.toString(), "-o", out.toString());
        assertEquals(2, comma.exitCode());
        assertTrue(comma.err().contains("writableStoreOverlay") && comma.err().contains("','"), comma.err());
        assertFalse(Files.exists(out));

        Cli.Result flavor = Cli.run("nix", "emit", "--spec", spec.toString(), "--flavor", "nixos");
        assertEquals(2, flavor.exitCode());
        assertTrue(flavor.err().contains("--flavor"), flavor.err());

        Cli.Result check = Cli.run("nix", "emit", "--spec", spec.toString(), "--check");
        assertEquals(2, check.exitCode());
        assertTrue(check.err().contains("--check needs"), check.err());

        Cli.Result none = Cli.run("nix", "emit", "--spec", dir.resolve("absent.json").toString());
        assertEquals(2, none.exitCode(), none.err());
        assertTrue(none.err().contains("absent.json"), none.err());
        assertFalse(none.err().contains("Exception"), none.err());
    }

    static VmSpec erofsSpec(String compression) throws Exception {
        String sd = "{\"image\":\"/s.img\",\"type\":\"erofs\"" + (compression == null ? "" : ",\"compression\":\"" + compression + "\"") + "}";
        return dev.microforge.vm.VmSpecReader.parse(("{\"name\":\"v\",\"kernel\":\"/k\",\"storeDisk\":" + sd + "}")
                .getBytes(StandardCharsets.UTF_8), "vm.json", dev.microforge.util.Events.NONE);
    }

    /**
     * A store disk in EROFS zstd, deflate or lzma makes the module assert the guest kernel's release (what
     * fs/erofs/Kconfig says each needs); lz4, lz4hc, none or an unsaid compression assert nothing and the
     * module stays what it was ({ lib, ... }).
     */
    @Test
    void erofsCompressorsBeyondLz4AssertTheGuestKernelRelease() throws Exception {
        for (String[] c : new String[][] {{"zstd", "6.10", "EROFS_FS_ZIP_ZSTD"}, {"deflate", "6.6", "EROFS_FS_ZIP_DEFLATE"},
                {"lzma", "5.16", "EROFS_FS_ZIP_LZMA"}}) {
            String nix = Emitter.emit(erofsSpec(c[0]), Emitter.Flavor.MODULE, "vm.json");
            String flat = nix.replaceAll("\\s+", " ");
            assertTrue(flat.contains("{ config, lib, ... }:"), nix);
            assertTrue(flat.contains("assertion = lib.versionAtLeast config.boot.kernelPackages.kernel.version \"" + c[1] + "\";"), nix);
            assertTrue(flat.contains("EROFS " + c[0] + ", which Linux reads from " + c[1] + " on (CONFIG_" + c[2] + "=y)"), nix);
        }
        String plain = Emitter.emit(erofsSpec(null), Emitter.Flavor.MODULE, "vm.json");
        for (String c : List.of("lz4hc", "lz4", "none")) {
            assertEquals(plain, Emitter.emit(erofsSpec(c), Emitter.Flavor.MODULE, "vm.json"), c);
        }
        assertFalse(plain.contains("assertions") || plain.contains("config,"), plain);
    }

    @Test
    void anUnknownStoreDiskCompressionIsOneLine(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("vm.json");
        Files.writeString(spec, "{\"name\": \"x\", \"kernel\": \"/k\", \"storeDisk\": {\"image\": \"s\", \"type\": \"erofs\", \"compression\": \"xz\"}}");
        Cli.Result r = Cli.run("nix", "emit", "--spec", spec.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("storeDisk.compression") && r.err().contains("'xz'") && r.err().contains("zstd"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }
}
