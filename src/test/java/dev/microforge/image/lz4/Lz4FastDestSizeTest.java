package dev.microforge.image.lz4;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Lz4Fast#compressDestSize}: with liblz4's tables, byte for byte the blocks of liblz4's
 * {@code LZ4_compress_destSize} (called through a small C program); with any table, blocks that fit the room, decode
 * to exactly the consumed prefix, keep the end-of-block rules, and do not depend on earlier calls.
 */
class Lz4FastDestSizeTest {
    private static final int[] CAPS = {4096, 17, 16384, 65536};

    /** Calls LZ4_compress_destSize over the file as the EROFS writer does: 1 MiB segments, each cut into blocks. */
    private static final String ORACLE = """
            #include <stdio.h>
            #include <stdlib.h>
            int LZ4_compress_destSize(const char *src, char *dst, int *srcSizePtr, int targetDstSize);
            int main(int argc, char **argv) {
              FILE *f = fopen(argv[1], "rb");
              int cap = atoi(argv[2]);
              if (!f || cap < 2) return 2;
              fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
              char *b = malloc(n + 1), *d = malloc(cap);
              if (fread(b, 1, n, f) != (size_t) n) return 2;
              for (long s = 0; s < n; s += 1 << 20) {
                long e = s + (1 << 20) < n ? s + (1 << 20) : n;
                for (long p = s; p < e;) {
                  int consumed = (int) (e - p);
                  int produced = LZ4_compress_destSize(b + p, d, &consumed, cap);
                  if (consumed <= 0) return 3;
                  fwrite(&consumed, 4, 1, stdout); fwrite(&produced, 4, 1, stdout); fwrite(d, 1, produced, stdout);
                  p += consumed;
                }
              }
              return 0;
            }
            """;

    @Test
    @Tag("oracle")
    void blocksAreThoseOfLiblz4DestSize(@TempDir Path dir) throws Exception {
        Path cc = Tools.require("cc");
        Path lib = liblz4();
        Path src = dir.resolve("destsize.c");
        Files.writeString(src, ORACLE);
        Path exe = dir.resolve("destsize");
        Exec.ok(cc.toString(), "-O2", "-o", exe.toString(), src.toString(), lib.toString());
        List<byte[]> corpus = Lz4FastTest.corpus();
        int sample = 0;
        for (byte[] in : corpus) {
            Path raw = dir.resolve("in" + sample + ".bin");
            Files.write(raw, in);
            for (int cap : CAPS) {
                byte[] theirs = Exec.ok(exe.toString(), raw.toString(), Integer.toString(cap)).stdout();
                assertArrayEquals(theirs, chain(new Lz4Fast(), in, cap), "sample " + sample + ", room " + cap);
            }
            sample++;
        }
    }

    /** liblz4's shared library (the lz4 tool's dependency), by its soname. */
    private static Path liblz4() {
        for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
            Path p = Path.of(d, "liblz4.so.1");
            if (Files.exists(p)) {
                return p;
            }
        }
        throw Tools.unavailable("liblz4.so.1 not found (package liblz4-1, a dependency of lz4: tests/install-deps.sh)");
    }

    /** The oracle's output format: per block, consumed and produced (32-bit little-endian), then the block. */
    private static byte[] chain(Lz4Fast c, byte[] in, int cap) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] d = new byte[cap];
        for (int s = 0; s < in.length; s += 1 << 20) {
            int e = Math.min(in.length, s + (1 << 20));
            for (int p = s; p < e; ) {
                long r = c.compressDestSize(in, p, e - p, d, 0, cap);
                int consumed = Lz4Compressor.consumed(r);
                int produced = Lz4Compressor.produced(r);
                assertTrue(consumed > 0, "progress at " + p);
                out.writeBytes(le32(consumed));
                out.writeBytes(le32(produced));
                out.write(d, 0, produced);
                p += consumed;
            }
        }
        return out.toByteArray();
    }

    private static byte[] le32(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    @Test
    void fitsDecodesThePrefixAndKeepsTheEndRules() throws Exception {
        Random r = new Random(17);
        int checked = 0;
        for (int log : new int[] {12, 14, 16}) {
            Lz4Fast c = new Lz4Fast(log);
            for (byte[] in : Lz4FastTest.corpus()) {
                for (int k = 0; k < 12; k++) {
                    int off = r.nextInt(in.length);
                    int len = 1 + r.nextInt(Math.min(in.length - off, k % 3 == 0 ? 100 : 300_000));
                    int cap = switch (k % 4) {
                        case 0 -> 1 + r.nextInt(40);
                        case 1 -> 4096;
                        case 2 -> 1 + r.nextInt(70_000);
                        default -> Lz4Fast.maxCompressedLength(len) - r.nextInt(3);
                    };
                    checkBlock(c, in, off, len, cap, "log " + log + " off " + off + " len " + len + " cap " + cap);
                    checked++;
                }
            }
        }
        assertTrue(checked > 100);
    }

    static void checkBlock(Lz4Fast c, byte[] in, int off, int len, int cap, String what) throws Exception {
        byte[] dst = new byte[cap + 40];
        Arrays.fill(dst, (byte) 0x5A);
        long res = c.compressDestSize(in, off, len, dst, 20, cap);
        int consumed = Lz4Compressor.consumed(res);
        int produced = Lz4Compressor.produced(res);
        assertTrue(produced >= 1 && produced <= cap, what + ": produced " + produced);
        assertTrue(consumed <= len && (consumed >= 1 || cap < 2), what + ": consumed " + consumed);
        for (int i = 0; i < 20; i++) {
            assertEquals((byte) 0x5A, dst[i], what + ": written before the room");
            assertEquals((byte) 0x5A, dst[20 + cap + i], what + ": written after the room");
        }
        byte[] back = new byte[consumed];
        Lz4Decompressor.decompress(dst, 20, produced, back, 0, consumed);
        assertArrayEquals(Arrays.copyOfRange(in, off, off + consumed), back, what);
        Lz4Test.checkEndRules(Arrays.copyOfRange(dst, 20, 20 + produced), produced, consumed);
        if (cap >= Lz4Fast.maxCompressedLength(len)) {
            assertEquals(len, consumed, what + ": everything fits");
            byte[] whole = new byte[cap];
            int n = c.compress(in, off, len, whole, 0, cap);
            assertArrayEquals(Arrays.copyOf(whole, n), Arrays.copyOfRange(dst, 20, 20 + produced), what + ": compress's block");
        }
        if (produced < cap - 16 - cap / 255) {
            assertEquals(len, consumed, what + ": stopped early although room was left");
        }
    }

    @Test
    void outputIndependentOfHistory() {
        byte[] a = Lz4Test.textLike(new Random(3), 300_000);
        byte[] b = Lz4Test.textLike(new Random(4), 300_000);
        for (int log : new int[] {12, 14}) {
            Lz4Fast fresh = new Lz4Fast(log);
            Lz4Fast used = new Lz4Fast(log);
            byte[] o1 = new byte[70_000];
            byte[] o2 = new byte[70_000];
            used.compress(a, 0, a.length, o2, 0, o2.length);
            used.compressDestSize(a, 100, 200_000, o2, 0, 4096);
            used.compressDestSize(b, 0, 20_000, o2, 0, 4096);
            for (int off : new int[] {0, 1000, 250_000}) {
                long r1 = fresh.compressDestSize(b, off, b.length - off, o1, 0, 4096);
                long r2 = used.compressDestSize(b, off, b.length - off, o2, 0, 4096);
                assertEquals(r1, r2);
                assertArrayEquals(Arrays.copyOf(o1, (int) r1), Arrays.copyOf(o2, (int) r2));
                fresh = new Lz4Fast(log);
            }
        }
    }

    @Test
    void refusesBadArguments() {
        Lz4Fast c = new Lz4Fast();
        byte[] in = new byte[100];
        assertThrows(IllegalArgumentException.class, () -> c.compressDestSize(in, 0, 100, new byte[10], 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compressDestSize(in, 50, 51, new byte[10], 0, 10));
        assertThrows(IndexOutOfBoundsException.class, () -> c.compressDestSize(in, 0, 100, new byte[10], 5, 6));
        assertThrows(IllegalArgumentException.class, () -> new Lz4Fast(11));
        assertThrows(IllegalArgumentException.class, () -> new Lz4Fast(17));
    }
}
