package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.Extract;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identical files are stored once, found while the data pass reads each file once: the same image whatever
 * the thread count and whichever way a candidate is read (into memory, or hashed in a pass of its own when it
 * is larger than the in-memory limit); the image reads back to the source tree.
 */
class SquashfsDuplicatesTest {
    private static final int BLOCK = 16384;

    @TempDir
    Path tmp;

    /**
     * Incompressible content, so a duplicate stored twice would show in the image size; one top-level entry
     * (one store path), as duplicates are found within a store path.
     */
    private Path tree(Path top, boolean withCopies) throws Exception {
        Path dir = top.resolve("p");
        Files.createDirectories(dir.resolve("x/y"));
        byte[] small = TestTrees.random(1, 5000);
        byte[] multi = TestTrees.random(2, 3 * BLOCK + 777); // three blocks and a tail
        byte[] big = TestTrees.random(3, 6 * BLOCK + 5);
        Files.write(dir.resolve("a1"), small);
        Files.write(dir.resolve("b1"), TestTrees.random(4, 5000)); // same size as a1, other bytes
        Files.write(dir.resolve("c1"), multi);
        Files.write(dir.resolve("big1"), big);
        Files.write(dir.resolve("big3"), TestTrees.random(5, big.length)); // same size as big1, other bytes
        Files.write(dir.resolve("empty1"), new byte[0]);
        Files.write(dir.resolve("zeros1"), new byte[2 * BLOCK]);
        if (withCopies) {
            Files.write(dir.resolve("x/a2"), small);
            Files.write(dir.resolve("x/y/a3"), small);
            Files.write(dir.resolve("x/c2"), multi);
            Files.write(dir.resolve("x/y/big2"), big);
            Files.write(dir.resolve("x/empty2"), new byte[0]);
            Files.write(dir.resolve("x/zeros2"), new byte[2 * BLOCK]);
        }
        return top;
    }

    private byte[] write(Dir root, int threads, long candidateLimit, String name) throws Exception {
        Path img = tmp.resolve(name);
        ImageOptions o = ImageOptions.defaults().withCompression("gzip").withBlockSize((long) BLOCK).withThreads(threads)
                .withMtime(0);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            new SquashfsWriter(o, Events.NONE, candidateLimit).write(root, ch);
        }
        return Files.readAllBytes(img);
    }

    @Test
    void storedOnceSameBytesWhateverThreadsAndReadPath() throws Exception {
        Path src = tree(tmp.resolve("src"), true);
        Dir root = (Dir) TreeBuilder.scan(src);
        byte[] reference = write(root, 1, SquashfsWriter.CANDIDATE_BUFFER_LIMIT, "t1.img");
        assertArrayEquals(reference, write(root, 8, SquashfsWriter.CANDIDATE_BUFFER_LIMIT, "t8.img"));
        // candidates over the limit are hashed in a pass of their own, then read again: same decisions
        assertArrayEquals(reference, write(root, 1, 4 * BLOCK, "t1-small-limit.img"));
        assertArrayEquals(reference, write(root, 8, 0, "t8-no-buffer.img"));

        try (SquashfsReader r = SquashfsReader.open(tmp.resolve("t8.img"))) {
            Extract.extract(r, tmp.resolve("out"), Events.NONE);
        }
        TreeAssert.sameTree(src, tmp.resolve("out"));

        // the copies add metadata only: without them the image is at most a metadata block smaller
        byte[] without = write((Dir) TreeBuilder.scan(tree(tmp.resolve("src2"), false)), 2,
                SquashfsWriter.CANDIDATE_BUFFER_LIMIT, "without.img");
        assertTrue(reference.length - without.length <= 8192,
                "copies stored again: " + reference.length + " vs " + without.length + " bytes without them");
    }

    /**
     * Files of one size and one CRC32C but other bytes (a real collision, made by choosing the last 4 bytes)
     * stay apart: the byte comparison decides, whichever way the candidates are read; copies of either one
     * are still stored once.
     */
    @Test
    void crcCollisionsAreNotDuplicates() throws Exception {
        Path src = tmp.resolve("crc");
        Path p = src.resolve("p");
        Files.createDirectories(p);
        byte[] a = TestTrees.random(11, 3 * BLOCK + 100);
        byte[] b = TestTrees.random(12, a.length);
        forceCrc(b, crc(a));
        assertTrue(crc(a) == crc(b) && !java.util.Arrays.equals(a, b));
        Files.write(p.resolve("a"), a);
        Files.write(p.resolve("b"), b);
        Files.write(p.resolve("c-copy-of-b"), b);
        Files.write(p.resolve("d-copy-of-a"), a);
        Dir root = (Dir) TreeBuilder.scan(src);
        byte[] reference = write(root, 1, SquashfsWriter.CANDIDATE_BUFFER_LIMIT, "crc1.img");
        assertArrayEquals(reference, write(root, 8, 0, "crc8-no-buffer.img"));
        try (SquashfsReader r = SquashfsReader.open(tmp.resolve("crc1.img"))) {
            Extract.extract(r, tmp.resolve("crc-out"), Events.NONE);
        }
        TreeAssert.sameTree(src, tmp.resolve("crc-out"));
        // a and b once each (incompressible): the two copies add no data
        assertTrue(reference.length < 2 * a.length + 8192, reference.length + " bytes");
    }

    /**
     * Per store path: small files of several paths that one fragment block would hold get one fragment block
     * per path; identical files in several top-level entries are still stored once (the later paths refer to
     * the first one's blocks); the image reads back to the source tree.
     */
    @Test
    void storePathsKeepTheirOwnBlocksAndFragments() throws Exception {
        Path src = tmp.resolve("paths");
        byte[] shared = TestTrees.random(21, 2 * BLOCK + 300);
        for (int i = 0; i < 3; i++) {
            Path p = Files.createDirectories(src.resolve("p" + i + "/lib"));
            Files.write(p.resolve("shared"), shared);
            Files.write(p.resolve("small"), TestTrees.random(30 + i, 100 + i));
        }
        Dir root = (Dir) TreeBuilder.scan(src);
        byte[] image = write(root, 1, SquashfsWriter.CANDIDATE_BUFFER_LIMIT, "paths1.img");
        assertArrayEquals(image, write(root, 8, 0, "paths8.img"));
        Superblock sb = Superblock.decode(java.util.Arrays.copyOf(image, Superblock.SIZE));
        assertEquals(3, sb.fragmentCount(), "one fragment block per store path");
        assertTrue(sb.inodeTableStart() < 2L * shared.length, "the shared file is stored once: "
                + sb.inodeTableStart() + " bytes of data");
        try (SquashfsReader r = SquashfsReader.open(tmp.resolve("paths1.img"))) {
            Extract.extract(r, tmp.resolve("paths-out"), Events.NONE);
        }
        TreeAssert.sameTree(src, tmp.resolve("paths-out"));
    }

    private static int crc(byte[] b) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    /** Sets the last 4 bytes of {@code b} so that its CRC32C is {@code target} (CRC is affine in them: solve over GF(2)). */
    private static void forceCrc(byte[] b, int target) {
        int n = b.length - 4;
        java.util.Arrays.fill(b, n, b.length, (byte) 0);
        int c0 = crc(b);
        int[] cols = new int[32];
        for (int k = 0; k < 32; k++) {
            b[n + k / 8] ^= (byte) (1 << (k % 8));
            cols[k] = crc(b) ^ c0;
            b[n + k / 8] ^= (byte) (1 << (k % 8));
        }
        // Gaussian elimination: eff[k] = an effect on the CRC, mask[k] = the input bits that produce it
        int[] eff = cols.clone();
        int[] mask = new int[32];
        for (int k = 0; k < 32; k++) {
            mask[k] = 1 << k;
        }
        int want = target ^ c0;
        int x = 0;
        for (int bit = 31, row = 0; bit >= 0; bit--) {
            int pivot = -1;
            for (int k = row; k < 32; k++) {
                if ((eff[k] >>> bit & 1) != 0) {
                    pivot = k;
                    break;
                }
            }
            if (pivot < 0) {
                continue;
            }
            int te = eff[pivot], tm = mask[pivot];
            eff[pivot] = eff[row];
            mask[pivot] = mask[row];
            eff[row] = te;
            mask[row] = tm;
            for (int k = 0; k < 32; k++) {
                if (k != row && (eff[k] >>> bit & 1) != 0) {
                    eff[k] ^= te;
                    mask[k] ^= tm;
                }
            }
            row++;
        }
        // fully reduced: every row's effect is one bit
        for (int k = 0; k < 32; k++) {
            if ((want & eff[k]) != 0) {
                x ^= mask[k];
            }
        }
        for (int k = 0; k < 4; k++) {
            b[n + k] = (byte) (x >>> (8 * k));
        }
    }
}
