package dev.microforge.image.lz4;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Lz4Fast}: byte for byte the blocks of liblz4 (the {@code lz4} tool, both table types), decodable with the
 * end-of-block rules kept, -1 exactly when the block is longer than the room, no write outside the room, no
 * dependence on bytes outside the input range or on earlier calls.
 */
class Lz4FastTest {

    /** Real and synthetic inputs: x86-like code, text, the JDK's class archive, random bytes, zeros, runs. */
    static List<byte[]> corpus() throws Exception {
        Random r = new Random(5);
        List<byte[]> out = new ArrayList<>();
        out.add(TestTrees.x86Code(3, 1_300_000));
        out.add(Lz4Test.textLike(r, 1_100_000));
        Path modules = Path.of(System.getProperty("java.home"), "lib", "modules");
        try (var in = Files.newInputStream(modules)) {
            out.add(in.readNBytes(2_500_000));
        }
        byte[] rnd = new byte[700_000];
        r.nextBytes(rnd);
        out.add(rnd);
        out.add(new byte[300_000]);
        ByteArrayOutputStream mixed = new ByteArrayOutputStream();
        while (mixed.size() < 1_200_000) {
            mixed.writeBytes(Lz4FuzzTest.shaped(r));
        }
        out.add(mixed.toByteArray());
        return out;
    }

    @Test
    @Tag("oracle")
    void blocksAreThoseOfLiblz4(@TempDir Path dir) throws Exception {
        Path lz4 = Tools.require("lz4");
        Lz4Fast c = new Lz4Fast();
        int sample = 0;
        int compared = 0;
        for (byte[] in : corpus()) {
            Path raw = dir.resolve("in" + sample + ".bin");
            Files.write(raw, in);
            // -B4: 64 KiB blocks (the 16-bit table); -B5, -B6: 256 KiB, 1 MiB (the 32-bit table, hash of 5 bytes)
            for (String bd : new String[] {"-B4", "-B5", "-B6"}) {
                Path theirs = dir.resolve("in" + sample + bd + ".lz4");
                Exec.ok(lz4.toString(), "-1", "-f", "-q", bd, "-BI", "--no-frame-crc", raw.toString(), theirs.toString());
                List<Block> blocks = blocks(Files.readAllBytes(theirs));
                int blockSize = 1 << (8 + 2 * Integer.parseInt(bd.substring(2)));
                assertEquals((in.length + blockSize - 1) / blockSize, blocks.size(), bd);
                for (int i = 0; i < blocks.size(); i++) {
                    int off = i * blockSize;
                    int len = Math.min(blockSize, in.length - off);
                    String what = "sample " + sample + " " + bd + " block " + i;
                    byte[] dst = new byte[Lz4Fast.maxCompressedLength(len)];
                    int n = c.compress(in, off, len, dst, 0, dst.length);
                    Block b = blocks.get(i);
                    if (b.compressed) {
                        assertArrayEquals(b.bytes, Arrays.copyOf(dst, n), what);
                        assertEquals(n, c.compress(in, off, len, dst, 0, len - 1), what + ": fits in len - 1");
                    } else {
                        // liblz4 gave up within len - 1 bytes (its room checks are a little conservative): ours
                        // does not fit either, or only just
                        assertTrue(n > len - 16, what + ": liblz4 stored it raw, ours is " + n + " of " + len);
                    }
                    compared++;
                }
            }
            sample++;
        }
        assertTrue(compared > 50, "compared " + compared + " blocks");
    }

    record Block(boolean compressed, byte[] bytes) {}

    /** The blocks of an LZ4 frame without checksums or content size. */
    static List<Block> blocks(byte[] f) {
        assertEquals(0x184D2204, le32(f, 0), "magic");
        int flg = f[4] & 0xFF;
        assertEquals(0, flg & 0x1C, "no content size, no checksums");
        int p = 7;
        List<Block> out = new ArrayList<>();
        while (true) {
            int size = le32(f, p);
            p += 4;
            if (size == 0) {
                assertEquals(f.length, p, "end mark last");
                return out;
            }
            int n = size & 0x7FFFFFFF;
            out.add(new Block(size > 0, Arrays.copyOfRange(f, p, p + n)));
            p += n;
        }
    }

    static int le32(byte[] b, int p) {
        return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8 | (b[p + 2] & 0xFF) << 16 | (b[p + 3] & 0xFF) << 24;
    }

    @Test
    void roundTripsAndKeepsTheEndRules() throws Exception {
        Lz4Fast c = new Lz4Fast();
        for (byte[] in : Lz4Test.samples(3)) {
            byte[] dst = new byte[Lz4Fast.maxCompressedLength(in.length)];
            int n = c.compress(in, 0, in.length, dst, 0, dst.length);
            assertTrue(n > 0, "fits in the bound, len " + in.length);
            byte[] back = new byte[in.length];
            Lz4Decompressor.decompress(dst, 0, n, back, 0, in.length);
            assertArrayEquals(in, back, "len " + in.length);
            Lz4Test.checkEndRules(dst, n, in.length);
        }
    }

    /** The room: -1 exactly when the block is longer, the same bytes when it fits, nothing written outside. */
    @Test
    void fuzzRoomOffsetsAndHistory() throws Exception {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        Lz4Fast c = new Lz4Fast();
        Lz4Fast fresh = new Lz4Fast();
        long deadline = System.nanoTime() + 3_000_000_000L;
        int cases = 0;
        while (System.nanoTime() < deadline || cases < 200) {
            byte[] data = Lz4FuzzTest.shaped(r);
            String what = "seed " + seed + " case " + cases + " len " + data.length;
            byte[] full = new byte[Lz4Fast.maxCompressedLength(data.length)];
            int n = fresh.compress(data, 0, data.length, full, 0, full.length);
            assertTrue(n > 0, what);
            byte[] back = new byte[data.length];
            Lz4Decompressor.decompress(full, 0, n, back, 0, data.length);
            assertArrayEquals(data, back, what);
            // the same input inside a larger array, random bytes around it, a compressor with history
            int pre = r.nextInt(40);
            byte[] arr = new byte[pre + data.length + r.nextInt(40)];
            r.nextBytes(arr);
            System.arraycopy(data, 0, arr, pre, data.length);
            int cap = switch (r.nextInt(4)) {
                case 0 -> n;
                case 1 -> n - 1;
                case 2 -> r.nextInt(full.length + 1);
                default -> Math.max(0, data.length - 1);
            };
            cap = Math.max(0, cap);
            int dstOff = r.nextInt(9);
            byte[] dst = new byte[dstOff + cap + 24];
            Arrays.fill(dst, (byte) 0x77);
            int m = c.compress(arr, pre, data.length, dst, dstOff, cap);
            if (n <= cap) {
                assertEquals(n, m, what + " cap " + cap);
                assertArrayEquals(Arrays.copyOf(full, n), Arrays.copyOfRange(dst, dstOff, dstOff + n), what);
            } else {
                assertEquals(-1, m, what + " cap " + cap + " needs " + n);
            }
            Lz4FuzzTest.assertUntouched(dst, 0, dstOff, what);
            Lz4FuzzTest.assertUntouched(dst, dstOff + cap, dst.length, what);
            cases++;
        }
        assertTrue(cases >= 200, "ran " + cases + " cases");
    }

    @Test
    void smallerThanTheOldFastParserAllowsAndBetterThanNothing() {
        // the liblz4 parse is the contract; this only guards against a parse that stops finding matches
        byte[] text = Lz4Test.textLike(new Random(9), 131072);
        Lz4Fast c = new Lz4Fast();
        byte[] dst = new byte[Lz4Fast.maxCompressedLength(text.length)];
        int n = c.compress(text, 0, text.length, dst, 0, dst.length);
        byte[] old = new byte[dst.length];
        int o = Lz4Compressor.fast().compress(text, 0, text.length, old, 0, old.length);
        assertTrue(n < text.length * 0.6, "text compresses: " + n);
        assertTrue(n < o * 1.05, "within 5% of the wider-table parser: " + n + " vs " + o);
    }

    @Test
    void rejectsRangesOutsideTheArrays() {
        Lz4Fast c = new Lz4Fast();
        byte[] src = new byte[100];
        byte[] dst = new byte[100];
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, -1, 10, dst, 0, 50));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, 95, 10, dst, 0, 50));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, 0, -1, dst, 0, 50));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, 0, 10, dst, 60, 50));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, 0, 10, dst, -1, 50));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compress(src, Integer.MAX_VALUE, 10, dst, 0, 50));
        assertEquals(-1, c.compress(src, 0, 100, dst, 0, 0), "no room");
        assertEquals(1, c.compress(src, 0, 0, dst, 0, 1), "empty input: one token");
    }
}
