package dev.microforge.image.lz4;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
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
 * Time-bounded fuzzing of both parsers in both modes (random shapes, lengths, offsets into larger arrays,
 * destination capacities), each block checked by our decoder, by the LZ4 end-of-block rules and for bytes
 * written outside its range; and the C lz4 decoder on frames of our blocks, destSize ones included.
 */
class Lz4FuzzTest {
    static final int[] LEVELS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12};

    /** A random input of a random shape: runs, periodic, text-like, random, mixtures; sometimes long. */
    static byte[] shaped(Random r) {
        int len = switch (r.nextInt(6)) {
            case 0 -> r.nextInt(20);
            case 1 -> r.nextInt(300);
            case 2 -> r.nextInt(5000);
            case 3 -> 4000 + r.nextInt(200);
            case 4 -> r.nextInt(70000);
            default -> 60000 + r.nextInt(140000);
        };
        byte[] b = new byte[len];
        int p = 0;
        while (p < len) {
            int n = Math.min(len - p, 1 + r.nextInt(r.nextBoolean() ? 64 : 4000));
            switch (r.nextInt(6)) {
                case 0 -> Arrays.fill(b, p, p + n, (byte) r.nextInt(3)); // a run
                case 1 -> { // random
                    for (int i = 0; i < n; i++) {
                        b[p + i] = (byte) r.nextInt(256);
                    }
                }
                case 2 -> { // a short period
                    int per = 1 + r.nextInt(9);
                    for (int i = 0; i < n; i++) {
                        b[p + i] = (byte) ((i % per) * 37);
                    }
                }
                case 3 -> { // a copy of something earlier (near or up to 70000 back: distances over 64 KiB must be avoided)
                    if (p > 0) {
                        int from = Math.max(0, p - 1 - r.nextInt(Math.min(p, r.nextBoolean() ? 300 : 70000)));
                        for (int i = 0; i < n; i++) {
                            b[p + i] = b[from + i];
                        }
                    }
                }
                case 4 -> { // text-like
                    byte[] t = Lz4Test.textLike(r, n);
                    System.arraycopy(t, 0, b, p, n);
                }
                default -> { // few distinct bytes
                    for (int i = 0; i < n; i++) {
                        b[p + i] = (byte) (r.nextInt(4) * 64);
                    }
                }
            }
            p += n;
        }
        return b;
    }

    @Test
    void fuzzBothModesEveryLevel() throws Exception {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        Lz4Compressor[] cs = new Lz4Compressor[LEVELS.length];
        for (int i = 0; i < LEVELS.length; i++) {
            cs[i] = LEVELS[i] == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(LEVELS[i]);
        }
        long deadline = System.nanoTime() + 8_000_000_000L;
        int cases = 0;
        while (System.nanoTime() < deadline || cases < LEVELS.length * 4) {
            byte[] data = shaped(r);
            // the input sits inside a larger array with random bytes around it: they must not matter
            int pre = r.nextInt(20);
            byte[] arr = new byte[pre + data.length + r.nextInt(20)];
            r.nextBytes(arr);
            System.arraycopy(data, 0, arr, pre, data.length);
            Lz4Compressor c = cs[cases % cs.length];
            String what = "seed " + seed + " case " + cases + " level " + c.level() + " len " + data.length;
            if (r.nextBoolean()) {
                byte[] dst = new byte[Lz4Compressor.maxCompressedLength(data.length) + 16];
                Arrays.fill(dst, (byte) 0x77);
                int n = c.compress(arr, pre, data.length, dst, 8, dst.length - 16);
                assertTrue(n > 0, what);
                assertUntouched(dst, 0, 8, what);
                assertUntouched(dst, 8 + dst.length - 16, dst.length, what);
                byte[] back = new byte[data.length];
                Lz4Decompressor.decompress(dst, 8, n, back, 0, data.length);
                assertArrayEquals(data, back, what);
                Lz4Test.checkEndRules(Arrays.copyOfRange(dst, 8, 8 + n), n, data.length);
                // the same input alone gives the same block
                byte[] dst2 = new byte[dst.length];
                assertEquals(n, c.compress(data, 0, data.length, dst2, 0, dst2.length), what);
                assertArrayEquals(Arrays.copyOfRange(dst, 8, 8 + n), Arrays.copyOf(dst2, n), what);
            } else if (data.length > 0) {
                int cap = r.nextInt(4) == 0 ? 1 + r.nextInt(40) : r.nextBoolean() ? 4096 : 1 + r.nextInt(9000);
                byte[] dst = new byte[cap + 16];
                Arrays.fill(dst, (byte) 0x77);
                long res = c.compressDestSize(arr, pre, data.length, dst, 8, cap);
                int consumed = Lz4Compressor.consumed(res);
                int produced = Lz4Compressor.produced(res);
                assertTrue(produced >= 1 && produced <= cap, what + " produced " + produced + " cap " + cap);
                assertTrue(consumed >= (cap >= 2 ? 1 : 0) && consumed <= data.length, what);
                assertUntouched(dst, 0, 8, what);
                assertUntouched(dst, 8 + cap, dst.length, what);
                byte[] back = new byte[consumed];
                Lz4Decompressor.decompress(dst, 8, produced, back, 0, consumed);
                assertArrayEquals(Arrays.copyOf(data, consumed), back, what);
                Lz4Test.checkEndRules(Arrays.copyOfRange(dst, 8, 8 + produced), produced, consumed);
                if (consumed < data.length) {
                    assertTrue(produced >= cap - 1, what + ": stopped with " + (cap - produced) + " bytes unused");
                }
            }
            cases++;
        }
        assertTrue(cases > 50, "ran " + cases + " cases");
    }

    static void assertUntouched(byte[] b, int from, int to, String what) {
        for (int i = from; i < to; i++) {
            assertEquals((byte) 0x77, b[i], what + ": wrote outside its range at " + i);
        }
    }

    /** Both decoders on the blocks a 4 KiB destSize chain produces over a whole input, at several levels. */
    @Test
    @Tag("oracle")
    void referenceLz4DecodesOurDestSizeAndHcBlocks(@TempDir Path dir) throws Exception {
        Path lz4 = Tools.require("lz4");
        Random r = new Random(21);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        while (all.size() < 1_500_000) {
            all.writeBytes(shaped(r));
        }
        byte[] in = all.toByteArray();
        for (int level : new int[] {0, 4, 7, 9, 12}) {
            Lz4Compressor c = level == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(level);
            List<byte[]> blocks = new ArrayList<>();
            byte[] tmp = new byte[4096];
            for (int pos = 0; pos < in.length; ) {
                long res = c.compressDestSize(in, pos, Math.min(in.length - pos, 1 << 20), tmp, 0, tmp.length);
                blocks.add(Arrays.copyOf(tmp, Lz4Compressor.produced(res)));
                pos += Lz4Compressor.consumed(res);
            }
            // plus whole-block compression of 4 MiB-limited chunks
            byte[] big = new byte[Lz4Compressor.maxCompressedLength(1 << 20)];
            for (int pos = 0; pos < in.length; pos += 1 << 20) {
                int n = c.compress(in, pos, Math.min(1 << 20, in.length - pos), big, 0, big.length);
                blocks.add(Arrays.copyOf(big, n));
            }
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            e.writeBytes(in);
            e.writeBytes(in);
            byte[] expect = e.toByteArray();
            Path frame = dir.resolve("d" + level + ".lz4");
            Files.write(frame, frame4M(blocks));
            Path outFile = dir.resolve("d" + level + ".out");
            Exec.ok(lz4.toString(), "-d", "-f", "-q", frame.toString(), outFile.toString());
            assertArrayEquals(expect, Files.readAllBytes(outFile), "lz4 -d of our destSize and block output, level " + level);
        }
    }

    /** An LZ4 frame with independent blocks of up to 4 MiB each, no checksums. */
    static byte[] frame4M(List<byte[]> blocks) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Lz4Test.le32(b, 0x184D2204);
        byte[] desc = {0x60, 0x70};
        b.writeBytes(desc);
        b.write((Lz4Test.XxHash32.hash(desc, 0, 2, 0) >>> 8) & 0xFF);
        for (byte[] blk : blocks) {
            Lz4Test.le32(b, blk.length);
            b.writeBytes(blk);
        }
        Lz4Test.le32(b, 0);
        return b.toByteArray();
    }
}
