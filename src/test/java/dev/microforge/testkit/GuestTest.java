package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The boot harness itself: kernel lookup, module order, initramfs, and real boots. */
class GuestTest {
    @TempDir
    Path tmp;

    @Test
    @Tag("oracle")
    void moduleOrderPutsDependenciesFirstAndSkipsBuiltins() {
        Kernel k = Kernel.require();
        // Debian's 6.1 cloud kernel: ext4 is built in (modules.builtin); modules.dep has
        //   virtio_blk: virtio virtio_ring     virtio: virtio_ring     erofs: libcrc32c
        //   virtiofs: virtio virtio_ring fuse  virtio_pci: virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring
        List<String> order = k.loadOrder(List.of("virtio_blk", "ext4", "erofs", "virtiofs", "virtio-pci"));
        assertEquals(List.of("virtio_ring", "virtio", "virtio_blk", "libcrc32c", "erofs", "fuse", "virtiofs",
                "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"), order, k.version());
        assertTrue(k.isBuiltin("ext4") && k.has("ext4"), "ext4 is built into " + k.version());
        assertEquals(List.of(), k.loadOrder(List.of("ext4")), "a built-in needs no insmod");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> k.loadOrder(List.of("no_such_module")));
        assertTrue(e.getMessage().contains("no_such_module"), e.getMessage());
    }

    @Test
    @Tag("oracle")
    void initramfsIsANewcArchiveWithInitBusyboxAndModules() throws Exception {
        Guest.Builder b = Guest.builder().modules("squashfs").script("echo hi\n");
        byte[] cpio = b.initramfs().cpio();
        List<String> names = new ArrayList<>();
        try (CpioArchiveInputStream in = new CpioArchiveInputStream(new ByteArrayInputStream(cpio))) {
            CpioArchiveEntry e;
            while ((e = in.getNextCPIOEntry()) != null) {
                names.add(e.getName());
                assertEquals(0, e.getTime(), e.getName());
                if (e.getName().equals("init")) {
                    assertEquals(0100755, e.getMode());
                }
                if (e.getName().equals("dev/console")) {
                    assertEquals(5, e.getRemoteDeviceMaj());
                }
            }
        }
        assertTrue(names.containsAll(List.of("init", "bin/busybox", "bin/sh", "dev/console", "test.sh", "lib/testkit.sh")), names.toString());
        assertTrue(names.contains("lib/modules/squashfs.ko") || b.kernel().isBuiltin("squashfs"), names.toString());
        assertTrue(names.indexOf("bin") < names.indexOf("bin/busybox"), "parents first");
        assertTrue(java.util.Arrays.equals(cpio, Guest.builder().modules("squashfs").script("echo hi\n").initramfs().cpio()), "deterministic");
    }

    /** One real boot: uname, a module load, a disk found by serial, the script's exit status. */
    @Test
    @Tag("oracle")
    void bootsRunsTheScriptAndReports() throws Exception {
        Path disk = tmp.resolve("blank.img");
        Files.write(disk, new byte[1 << 20]);
        Guest.Report r = Guest.builder()
                .modules("squashfs")
                .disk(disk, "blank-disk")
                .script("uname -r\n"
                        + "begin mods\ncat /proc/modules | cut -d' ' -f1\nend mods\n"
                        + "readlink /dev/disk/by-id/virtio-blank-disk\n"
                        + "cat /sys/block/vda/size\n")
                .boot()
                .check();
        List<String> lines = r.lines();
        assertEquals(Kernel.require().version(), lines.get(0), r.diagnostics());
        assertTrue(r.sectionText("mods").lines().anyMatch("squashfs"::equals), r.diagnostics());
        assertTrue(r.sectionText("mods").lines().anyMatch("virtio_blk"::equals), r.diagnostics());
        assertEquals("../../vda", lines.get(lines.size() - 2), r.diagnostics());
        assertEquals("2048", lines.get(lines.size() - 1), r.diagnostics());
        System.out.println("GuestTest boot: " + r.timing());
    }

    /**
     * The 6.12 kernel through the same builder: its modules are {@code .ko.xz} (decompressed on the host for
     * busybox insmod), erofs comes with its dependency libcrc32c, and the EROFS decompressors are built in.
     */
    @Test
    @Tag("oracle")
    void boots612AndLoadsItsXzModules() throws Exception {
        Kernel k = Kernel.require(Kernel.Series.LTS_6_12);
        assertEquals("y", k.config("MODULE_COMPRESS_XZ"), "6.12 modules are .ko.xz");
        assertEquals(List.of("libcrc32c", "erofs"), k.loadOrder(List.of("erofs")));
        Path disk = tmp.resolve("blank.img");
        Files.write(disk, new byte[1 << 20]);
        Guest.Report r = Guest.builder(k)
                .modules("erofs")
                .disk(disk, "blank-disk")
                .script("uname -r\nbegin mods\ncut -d' ' -f1 /proc/modules\nend mods\ngrep -w erofs /proc/filesystems\n")
                .boot()
                .check();
        assertEquals(k.version(), r.lines().get(0), r.diagnostics());
        assertEquals(Set.of("erofs", "libcrc32c", "virtio_blk"), Set.copyOf(r.sectionText("mods").lines().toList()),
                r.diagnostics());
        assertTrue(r.lines().get(r.lines().size() - 1).endsWith("erofs"), r.diagnostics());
        System.out.println("GuestTest 6.12 boot: " + r.timing());
    }

    @Test
    @Tag("oracle")
    void aFailingScriptFailsWithTheConsole() throws Exception {
        Guest.Report r = Guest.builder().script("echo before\nls /no/such/dir\necho after\n").boot();
        assertEquals(List.of("before"), r.lines());
        assertTrue(r.exitStatus() != 0 && !r.ok());
        AssertionError e = assertThrows(AssertionError.class, r::check);
        assertTrue(e.getMessage().contains("/no/such/dir"), e.getMessage());
    }

    /**
     * Harness self-test with the peer tools' images: mksquashfs and mkfs.erofs images of the rich tree, on two
     * disks of one boot; the guest's manifests equal the host's.
     */
    @Test
    @Tag("oracle")
    void peerImagesMountAndHashLikeTheHost() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 300);
        // mkfs.erofs 1.5 fails on a 255-byte name ("Could not format the device"); our writers must not
        Files.delete(src.resolve("pkg-1.0/share/" + "L".repeat(255)));
        Path sq = tmp.resolve("peer.squashfs");
        Path ero = tmp.resolve("peer.erofs");
        Exec.ok(Tools.require("mksquashfs").toString(), src.toString(), sq.toString(), "-comp", "zstd", "-all-root",
                "-no-hardlinks", "-no-progress", "-quiet", "-processors", "1");
        Exec.ok(Tools.require("mkfs.erofs").toString(), "-zlz4hc", "-Eztailpacking", "-T0", "--all-root", ero.toString(), src.toString());
        Guest.Report r = Guest.builder()
                .modules("squashfs", "erofs")
                .disk(sq, "peer-squashfs")
                .disk(ero, "peer-erofs")
                .script("mkdir -p /m/sq /m/ero\n"
                        + "mount -t squashfs -o ro /dev/disk/by-id/virtio-peer-squashfs /m/sq\n"
                        + "mount -t erofs -o ro /dev/disk/by-id/virtio-peer-erofs /m/ero\n"
                        + "treehash /m/sq sq\ntreehash /m/ero ero\n")
                .boot()
                .check();
        TreeHash.Manifest host = TreeHash.of(src);
        TreeHash.assertSame(host, TreeHash.fromGuest(r, "sq"), "mksquashfs image in the guest");
        TreeHash.assertSame(host, TreeHash.fromGuest(r, "ero"), "mkfs.erofs image in the guest");
        System.out.println("GuestTest peer images boot: " + r.timing());
    }
}
