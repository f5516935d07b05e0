package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file system preflight reads from images is what the real tools wrote: mksquashfs, mkfs.erofs, mkfs.ext4,
 * mkfs.xfs, mkfs.btrfs, mkfs.vfat. A store disk of the other type, a volume of another file system than its fsType,
 * and a blank image the guest would mount are reported; matching ones are not.
 */
@Tag("oracle")
class PreflightDisksTest {
    @TempDir
    Path tmp;

    /** A sparse file of {@code mib} MiB formatted by {@code mkfs ARGS... FILE}. */
    Path mkfs(String name, long mib, String... cmd) throws Exception {
        Path f = tmp.resolve(name);
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(mib << 20);
        }
        List<String> c = new java.util.ArrayList<>(List.of(cmd));
        c.set(0, Tools.require(cmd[0]).toString());
        c.add(f.toString());
        Exec.run(c, tmp, null, 300).check(c);
        return f;
    }

    @Test
    void fileSystemsWrittenByTheRealTools() throws Exception {
        assertEquals("ext4", Preflight.fsTypeOf(mkfs("ext4.img", 8, "mkfs.ext4", "-q")));
        assertEquals("ext4", Preflight.fsTypeOf(mkfs("ext2.img", 8, "mkfs.ext2", "-q")), "ext2 shares ext4's magic: mount -t ext4 reads it");
        assertEquals("xfs", Preflight.fsTypeOf(mkfs("xfs.img", 320, "mkfs.xfs", "-q")));
        assertEquals("btrfs", Preflight.fsTypeOf(mkfs("btrfs.img", 128, "mkfs.btrfs", "-q")));
        assertEquals("vfat", Preflight.fsTypeOf(mkfs("vfat.img", 8, "mkfs.vfat")));
        assertEquals("vfat", Preflight.fsTypeOf(mkfs("fat32.img", 64, "mkfs.vfat", "-F", "32")));
        Path blank = tmp.resolve("blank.img");
        try (RandomAccessFile r = new RandomAccessFile(blank.toFile(), "rw")) {
            r.setLength(4 << 20);
        }
        assertEquals("", Preflight.fsTypeOf(blank));
        Files.writeString(tmp.resolve("text.img"), "hello");
        assertEquals(null, Preflight.fsTypeOf(tmp.resolve("text.img")));
    }

    Path storeImages(String type) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello"), "hello\n");
        Path img = tmp.resolve("store." + type);
        if (type.equals("squashfs")) {
            Exec.ok(Tools.require("mksquashfs").toString(), src.toString(), img.toString(), "-quiet", "-noappend");
        } else {
            Exec.ok(Tools.require("mkfs.erofs").toString(), "--quiet", img.toString(), src.toString());
        }
        return img;
    }

    Cli.Result preflight(String body) throws Exception {
        Path k = tmp.resolve("bzImage");
        Files.write(k, PreflightTest.bzImageHeader());
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + k + "\",\"socket\":null," + body + "}");
        return Cli.run("preflight", "--spec", spec.toString(), "--accel", "tcg");
    }

    @Test
    void storeDiskTypeAgainstItsMagic() throws Exception {
        Path sq = storeImages("squashfs");
        Path ero = storeImages("erofs");
        assertEquals("squashfs", Preflight.fsTypeOf(sq));
        assertEquals("erofs", Preflight.fsTypeOf(ero));
        String disk = "\"storeOnDisk\":true,\"storeDisk\":{\"image\":\"%s\",\"type\":\"%s\"}";
        assertEquals(0, preflight(disk.formatted(sq, "squashfs")).exitCode());
        assertEquals(0, preflight(disk.formatted(ero, "erofs")).exitCode());
        Cli.Result r = preflight(disk.formatted(ero, "squashfs"));
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().contains("preflight: error: storeDisk.image " + ero + ": is an EROFS image but storeDisk.type is squashfs: the guest"
                + " would mount it as squashfs and fail; fix: set storeDisk.type to erofs"), r.err());
        r = preflight(disk.formatted(sq, "erofs"));
        assertTrue(r.err().contains("preflight: error: storeDisk.image " + sq + ": is a SquashFS image but storeDisk.type is erofs"), r.err());
        Path ext4 = mkfs("ext4.img", 8, "mkfs.ext4", "-q");
        r = preflight(disk.formatted(ext4, "erofs"));
        assertTrue(r.err().contains("preflight: error: storeDisk.image " + ext4 + ": is neither a SquashFS nor an EROFS image (found ext4);"
                + " fix: build it with microforge image build --format erofs"), r.err());
    }

    @Test
    void volumeFileSystemAgainstFsType() throws Exception {
        Path xfs = mkfs("xfs.img", 320, "mkfs.xfs", "-q");
        Path vfat = mkfs("vfat.img", 8, "mkfs.vfat");
        Path blank = tmp.resolve("blank.img");
        try (RandomAccessFile r = new RandomAccessFile(blank.toFile(), "rw")) {
            r.setLength(4 << 20);
        }
        String vol = "\"storeOnDisk\":false,\"volumes\":[{\"image\":\"%s\",\"mountPoint\":\"/data\",\"autoCreate\":false,\"fsType\":\"%s\"}]";
        assertEquals(0, preflight(vol.formatted(xfs, "xfs")).exitCode());
        assertEquals(0, preflight(vol.formatted(vfat, "vfat")).exitCode());
        Cli.Result r = preflight(vol.formatted(xfs, "ext4"));
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().contains("preflight: error: volumes[0] " + xfs + ": holds a file system of type xfs but fsType is ext4: the guest's"
                + " mount at /data would fail; fix: set fsType to xfs"), r.err());
        r = preflight(vol.formatted(vfat, "btrfs"));
        assertTrue(r.err().contains("holds a file system of type vfat but fsType is btrfs"), r.err());
        r = preflight(vol.formatted(blank, "ext4"));
        assertTrue(r.err().contains("preflight: error: volumes[0] " + blank + ": has no file system (its first 128 KiB are zero) and the guest"
                + " mounts it at /data as ext4; microvm-run formats only images it creates; fix: mkfs.ext4 " + blank), r.err());
        Cli.Result raw = preflight("\"storeOnDisk\":false,\"volumes\":[{\"image\":\"" + blank + "\",\"mountPoint\":null,\"autoCreate\":false}]");
        assertEquals(0, raw.exitCode(), "a raw disk the guest does not mount may be blank\n" + raw.err());
        assertFalse(raw.err().contains("volumes[0]"), raw.err());
    }
}
