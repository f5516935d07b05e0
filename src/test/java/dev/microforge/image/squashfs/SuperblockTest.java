package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.CorruptImageException;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The superblock record against mksquashfs' superblocks, read back by unsquashfs -s. */
class SuperblockTest {
    @TempDir
    Path tmp;

    @Tag("oracle")
    @Test
    void decodesMksquashfsSuperblocksAsUnsquashfsDoesAndEncodesThemBack() throws Exception {
        Path mksquashfs = Tools.require("mksquashfs");
        Path unsquashfs = Tools.require("unsquashfs");
        Path src = TestTrees.rich(tmp.resolve("src"), 300);
        String[][] variants = {{"gzip", "131072"}, {"xz", "1048576"}, {"zstd", "4096"}, {"lz4", "65536"}};
        for (String[] v : variants) {
            Path img = tmp.resolve(v[0] + ".sqfs");
            Exec.ok(mksquashfs.toString(), src.toString(), img.toString(), "-comp", v[0], "-b", v[1], "-no-progress",
                    "-all-root", "-mkfs-time", "1700000000", "-noappend", "-processors", "1");
            byte[] raw = new byte[Superblock.SIZE];
            try (InputStream in = Files.newInputStream(img)) {
                assertEquals(raw.length, in.readNBytes(raw, 0, raw.length));
            }
            Superblock sb = Superblock.decode(raw);
            assertArrayEquals(raw, sb.encode(), v[0]);
            String s = Exec.ok(unsquashfs.toString(), "-s", img.toString()).out();
            assertTrue(s.contains("SQUASHFS " + sb.versionMajor() + ":" + sb.versionMinor() + " superblock"), s);
            assertTrue(s.contains("Compression " + SquashfsOnDisk.compressorName(sb.compressor()) + "\n"), s);
            assertEquals(v[0], SquashfsOnDisk.compressorName(sb.compressor()));
            assertTrue(s.contains("Block size " + sb.blockSize() + "\n"), s);
            assertEquals(Integer.parseInt(v[1]), sb.blockSize());
            assertEquals(1 << sb.blockLog(), sb.blockSize());
            assertTrue(s.contains("Filesystem size " + sb.bytesUsed() + " bytes"), s);
            assertTrue(s.contains("Number of fragments " + sb.fragmentCount() + "\n"), s);
            assertTrue(s.contains("Number of inodes " + sb.inodeCount() + "\n"), s);
            assertTrue(s.contains("Number of ids " + sb.idCount() + "\n"), s);
            assertEquals(1700000000L, sb.mtime());
            assertEquals((sb.flags() & SquashfsOnDisk.EXPORT) != 0, s.contains("Filesystem is exportable via NFS"), s);
            assertEquals((sb.flags() & SquashfsOnDisk.DUPLICATES) != 0, s.contains("Duplicates are removed"), s);
            assertTrue(Long.compareUnsigned(sb.inodeTableStart(), sb.directoryTableStart()) < 0);
            assertTrue(sb.bytesUsed() <= Files.size(img));
        }
    }

    @Test
    void encodeDecodeRoundTripsEveryField() throws Exception {
        Superblock sb = new Superblock(7, 0xfffffffeL, 1 << 20, 3, SquashfsOnDisk.XZ, 20, 0x0640, 1, 4, 0,
                0x1234_5678_9aL, 1 << 30, 1000, SquashfsOnDisk.INVALID, 96, 500, 900, SquashfsOnDisk.INVALID);
        assertEquals(sb, Superblock.decode(sb.encode()));
        assertEquals(SquashfsOnDisk.MAGIC, SquashfsOnDisk.getInt(sb.encode(), 0));
    }

    @Test
    void decodeRefusesShortInputAndBadMagic() {
        byte[] b = new Superblock(1, 0, 4096, 0, 1, 12, 0, 1, 4, 0, 0, 96, 0, -1, 0, 0, -1, -1).encode();
        assertThrows(CorruptImageException.class, () -> Superblock.decode(Arrays.copyOf(b, 95)));
        b[0] ^= 1;
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> Superblock.decode(b));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
    }
}
