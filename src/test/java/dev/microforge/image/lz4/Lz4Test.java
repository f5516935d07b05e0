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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Lz4Test {
    static List<Lz4Compressor> compressors() {
        return List.of(Lz4Compressor.fast(), Lz4Compressor.hc(1), Lz4Compressor.hc(4), Lz4Compressor.hc(9), Lz4Compressor.hc(12));
    }

    /** Inputs of many shapes: random, text-like, runs, short, periodic. */
    static List<byte[]> samples(long seed) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>();
        for (int len : new int[] {0, 1, 5, 12, 13, 14, 20, 100, 4095, 4096, 4097, 10000, 70000, 200000}) {
            byte[] rnd = new byte[len];
            r.nextBytes(rnd);
            out.add(rnd);
            out.add(new byte[len]);
            out.add(textLike(r, len));
            byte[] per = new byte[len];
            for (int i = 0; i < len; i++) {
                per[i] = (byte) (i % 7 == 0 ? r.nextInt(3) : i % 13);
            }
            out.add(per);
        }
        return out;
    }

    static byte[] textLike(Random r, int len) {
        String[] words = {"nix", "store", "lib", "/nix/store/", "glibc-2.37", "\u0000\u0000\u0000\u0001", "ELF", "libc.so.6", " ", "\n", "x86_64"};
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (b.size() < len) {
            if (r.nextInt(10) == 0) {
                b.write(r.nextInt(256));
            } else {
                b.writeBytes(words[r.nextInt(words.length)].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            }
        }
        return Arrays.copyOf(b.toByteArray(), len);
    }

    /** The end-of-block rules of the LZ4 format, checked on the sequences of a block. */
    static void checkEndRules(byte[] block, int len, int decodedLen) {
        int ip = 0;
        int op = 0;
        int lastMatchStart = -1;
        int lastMatchEnd = -1;
        while (true) {
            int token = block[ip++] & 0xFF;
            int lit = token >>> 4;
            if (lit == 15) {
                int b;
                do {
                    b = block[ip++] & 0xFF;
                    lit += b;
                } while (b == 255);
            }
            ip += lit;
            op += lit;
            if (ip == len) {
                break;
            }
            ip += 2;
            int ml = token & 15;
            if (ml == 15) {
                int b;
                do {
                    b = block[ip++] & 0xFF;
                    ml += b;
                } while (b == 255);
            }
            lastMatchStart = op;
            op += ml + 4;
            lastMatchEnd = op;
        }
        assertEquals(decodedLen, op);
        if (lastMatchStart >= 0) {
            assertTrue(lastMatchStart <= decodedLen - 12, "last match starts too late");
            assertTrue(lastMatchEnd <= decodedLen - 5, "last 5 bytes must be literals");
        }
    }

    @Test
    void roundTripsEveryCompressor() throws Exception {
        for (Lz4Compressor c : compressors()) {
            for (byte[] in : samples(1)) {
                byte[] dst = new byte[Lz4Compressor.maxCompressedLength(in.length)];
                int n = c.compress(in, 0, in.length, dst, 0, dst.length);
                assertTrue(n > 0, "fits in the bound");
                byte[] back = new byte[in.length];
                Lz4Decompressor.decompress(dst, 0, n, back, 0, in.length);
                assertArrayEquals(in, back, "level " + c.level() + " len " + in.length);
                checkEndRules(dst, n, in.length);
                // does not fit: -1, nothing thrown
                if (n > 2) {
                    assertEquals(-1, c.compress(in, 0, in.length, dst, 0, n - 1));
                }
            }
        }
    }

    @Test
    void destSizeFillsAndDecodesExactlyThePrefix() throws Exception {
        Random r = new Random(7);
        for (Lz4Compressor c : compressors()) {
            for (byte[] in : samples(2)) {
                if (in.length == 0) {
                    continue;
                }
                for (int cap : new int[] {2, 9, 16, 17, 100, 271, 4096, 4095 + r.nextInt(3)}) {
                    byte[] dst = new byte[cap + 8];
                    Arrays.fill(dst, (byte) 0x5A);
                    long res = c.compressDestSize(in, 0, in.length, dst, 4, cap);
                    int consumed = Lz4Compressor.consumed(res);
                    int produced = Lz4Compressor.produced(res);
                    assertTrue(produced <= cap && produced > 0);
                    assertTrue(consumed >= 1 && consumed <= in.length);
                    assertEquals((byte) 0x5A, dst[3]);
                    assertEquals((byte) 0x5A, dst[4 + cap]);
                    byte[] back = new byte[consumed];
                    Lz4Decompressor.decompress(dst, 4, produced, back, 0, consumed);
                    assertArrayEquals(Arrays.copyOf(in, consumed), back);
                    checkEndRules(Arrays.copyOfRange(dst, 4, 4 + produced), produced, consumed);
                    if (produced < cap - 16) {
                        assertEquals(in.length, consumed, "stopped early although room was left");
                    }
                }
            }
        }
    }

    /**
     * Fill mode on incompressible input with compressible data far behind it: the block is all literals, as many as
     * fit, whatever follows (the parser stops once no later match could fit; a search on to the end of the input
     * would find the zeros but could not emit them).
     */
    @Test
    void destSizeOnIncompressibleInputTakesTheLiteralsThatFit() throws Exception {
        byte[] in = new byte[2 << 20];
        Random r = new Random(11);
        for (int i = 0; i < 1 << 20; i++) {
            in[i] = (byte) r.nextInt(256);
        }
        for (Lz4Compressor c : compressors()) {
            for (int cap : new int[] {64, 4096, 65536}) {
                byte[] dst = new byte[cap];
                long res = c.compressDestSize(in, 0, in.length, dst, 0, cap);
                assertEquals(Lz4Compressor.maxLiterals(cap), Lz4Compressor.consumed(res), c.level() + "/" + cap);
                byte[] back = new byte[Lz4Compressor.consumed(res)];
                Lz4Decompressor.decompress(dst, 0, Lz4Compressor.produced(res), back, 0, back.length);
                assertArrayEquals(Arrays.copyOf(in, back.length), back);
            }
        }
    }

    /** A real binary (the JVM's own libjvm.so, a few MiB): long chains, runs, code; every level round-trips. */
    @Test
    void roundTripsARealBinaryAtEveryLevel() throws Exception {
        Path lib = Path.of(System.getProperty("java.home"), "lib", "server", "libjvm.so");
        byte[] all = Files.readAllBytes(lib);
        byte[] in = Arrays.copyOf(all, Math.min(all.length, 3 << 20));
        byte[] dst = new byte[Lz4Compressor.maxCompressedLength(in.length)];
        byte[] back = new byte[in.length];
        for (int level = 0; level <= 12; level += 1) {
            Lz4Compressor c = level == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(level);
            int n = c.compress(in, 0, in.length, dst, 0, dst.length);
            Lz4Decompressor.decompress(dst, 0, n, back, 0, in.length);
            assertArrayEquals(in, back, "level " + level);
            // destSize chain over the same data, as EROFS uses it
            int pos = 0;
            byte[] blk = new byte[4096];
            while (pos < 300_000) {
                long r = c.compressDestSize(in, pos, in.length - pos, blk, 0, 4096);
                int consumed = Lz4Compressor.consumed(r);
                byte[] part = new byte[consumed];
                Lz4Decompressor.decompress(blk, 0, Lz4Compressor.produced(r), part, 0, consumed);
                assertArrayEquals(Arrays.copyOfRange(in, pos, pos + consumed), part, "level " + level + " at " + pos);
                pos += consumed;
            }
        }
    }

    @Test
    void outputIndependentOfHistory() {
        byte[] a = textLike(new Random(3), 50000);
        byte[] b = textLike(new Random(4), 50000);
        for (int level : new int[] {0, 1, 4, 7, 9, 12}) {
            Lz4Compressor fresh = level == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(level);
            Lz4Compressor used = level == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(level);
            byte[] o1 = new byte[70000];
            byte[] o2 = new byte[70000];
            used.compress(a, 0, a.length, o2, 0, o2.length);
            used.compressDestSize(b, 100, 20000, o2, 0, 4096);
            long r1 = fresh.compressDestSize(b, 0, b.length, o1, 0, 4096);
            long r2 = used.compressDestSize(b, 0, b.length, o2, 0, 4096);
            assertEquals(r1, r2);
            assertArrayEquals(Arrays.copyOf(o1, Lz4Compressor.produced(r1)), Arrays.copyOf(o2, Lz4Compressor.produced(r2)));
        }
    }

    @Test
    void hcCompressesBetterThanFast() {
        byte[] in = textLike(new Random(5), 300000);
        byte[] d = new byte[Lz4Compressor.maxCompressedLength(in.length)];
        int fast = Lz4Compressor.fast().compress(in, 0, in.length, d, 0, d.length);
        int hc = Lz4Compressor.hc(9).compress(in, 0, in.length, d, 0, d.length);
        assertTrue(hc < fast, "hc " + hc + " fast " + fast);
    }

    @Test
    void decoderRejectsMalformedBlocks() {
        byte[] out = new byte[100];
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompress(new byte[] {(byte) 0xF0}, 0, 1, out, 0, 100));
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompress(new byte[] {0x10, 'a', 5, 0}, 0, 4, out, 0, 100));
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompress(new byte[] {0x1F, 'a', 1, 0, (byte) 255, (byte) 255}, 0, 6, out, 0, 100));
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompress(new byte[] {0x30, 'a', 'b', 'c'}, 0, 4, out, 0, 2));
        // a block that ends right after a match (found by the image fuzzer)
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompress(new byte[] {0x10, 'a', 1, 0}, 0, 4, out, 0, 100));
        Random r = new Random(9);
        byte[] in = textLike(r, 5000);
        byte[] blk = new byte[6000];
        int n = Lz4Compressor.hc(9).compress(in, 0, in.length, blk, 0, blk.length);
        for (int i = 0; i < 2000; i++) {
            byte[] m = Arrays.copyOf(blk, n);
            m[r.nextInt(n)] = (byte) r.nextInt(256);
            try {
                Lz4Decompressor.decompressUpTo(m, 0, n, out, 0, out.length);
            } catch (Lz4Decompressor.Lz4FormatException e) {
                // fine: rejected
            }
        }
    }

    // --- the reference implementation as oracle: lz4(1) decodes our blocks and encodes blocks we decode ---

    @Test
    @Tag("oracle")
    void referenceLz4DecodesOurBlocksAndWeDecodeItsBlocks(@TempDir Path dir) throws Exception {
        Path lz4 = Tools.require("lz4");
        byte[] in = textLike(new Random(11), 600000);
        for (Lz4Compressor c : List.of(Lz4Compressor.fast(), Lz4Compressor.hc(9))) {
            Path frame = dir.resolve("ours" + c.level() + ".lz4");
            Files.write(frame, frame(c, in));
            Path outFile = dir.resolve("ours" + c.level() + ".out");
            Exec.ok(lz4.toString(), "-d", "-f", "-q", frame.toString(), outFile.toString());
            assertArrayEquals(in, Files.readAllBytes(outFile), "lz4 -d of our level " + c.level());
        }
        Path raw = dir.resolve("in.bin");
        Files.write(raw, in);
        for (String lvl : new String[] {"-1", "-9"}) {
            Path theirs = dir.resolve("theirs" + lvl + ".lz4");
            Exec.ok(lz4.toString(), lvl, "-f", "-q", "-B4", "-BI", "--no-frame-crc", raw.toString(), theirs.toString());
            assertArrayEquals(in, unframe(Files.readAllBytes(theirs)), "our decoder on lz4 " + lvl);
        }
    }

    /** An LZ4 frame (independent 64 KiB blocks, no checksums) around our blocks. */
    static byte[] frame(Lz4Compressor c, byte[] in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le32(b, 0x184D2204);
        byte[] desc = {0x60, 0x40};
        b.writeBytes(desc);
        b.write((XxHash32.hash(desc, 0, 2, 0) >>> 8) & 0xFF);
        byte[] blk = new byte[Lz4Compressor.maxCompressedLength(65536)];
        for (int off = 0; off < in.length; off += 65536) {
            int len = Math.min(65536, in.length - off);
            int n = c.compress(in, off, len, blk, 0, blk.length);
            le32(b, n);
            b.write(blk, 0, n);
        }
        le32(b, 0);
        return b.toByteArray();
    }

    static byte[] unframe(byte[] f) throws Exception {
        int p = 4;
        int flg = f[p] & 0xFF;
        int bd = f[p + 1] & 0xFF;
        assertEquals(0x40, bd & 0x70, "64 KiB blocks");
        p += 2 + ((flg & 0x08) != 0 ? 8 : 0) + 1;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        while (true) {
            int size = (f[p] & 0xFF) | (f[p + 1] & 0xFF) << 8 | (f[p + 2] & 0xFF) << 16 | (f[p + 3] & 0xFF) << 24;
            p += 4;
            if (size == 0) {
                return out.toByteArray();
            }
            if (size < 0) {
                int n = size & 0x7FFFFFFF;
                out.write(f, p, n);
                p += n;
            } else {
                int n = Lz4Decompressor.decompressUpTo(f, p, size, buf, 0, buf.length);
                out.write(buf, 0, n);
                p += size;
            }
            if ((flg & 0x10) != 0) {
                p += 4;
            }
        }
    }

    static void le32(ByteArrayOutputStream b, int v) {
        b.write(v);
        b.write(v >>> 8);
        b.write(v >>> 16);
        b.write(v >>> 24);
    }

    /** xxHash32, only for the frame header checksum of the test frames. */
    static final class XxHash32 {
        static final int P1 = 0x9E3779B1;
        static final int P2 = 0x85EBCA77;
        static final int P3 = 0xC2B2AE3D;
        static final int P4 = 0x27D4EB2F;
        static final int P5 = 0x165667B1;

        static int hash(byte[] d, int off, int len, int seed) {
            int end = off + len;
            int h;
            int p = off;
            if (len >= 16) {
                int v1 = seed + P1 + P2;
                int v2 = seed + P2;
                int v3 = seed;
                int v4 = seed - P1;
                while (p + 16 <= end) {
                    v1 = Integer.rotateLeft(v1 + i32(d, p) * P2, 13) * P1;
                    v2 = Integer.rotateLeft(v2 + i32(d, p + 4) * P2, 13) * P1;
                    v3 = Integer.rotateLeft(v3 + i32(d, p + 8) * P2, 13) * P1;
                    v4 = Integer.rotateLeft(v4 + i32(d, p + 12) * P2, 13) * P1;
                    p += 16;
                }
                h = Integer.rotateLeft(v1, 1) + Integer.rotateLeft(v2, 7) + Integer.rotateLeft(v3, 12) + Integer.rotateLeft(v4, 18);
            } else {
                h = seed + P5;
            }
            h += len;
            while (p + 4 <= end) {
                h = Integer.rotateLeft(h + i32(d, p) * P3, 17) * P4;
                p += 4;
            }
            while (p < end) {
                h = Integer.rotateLeft(h + (d[p] & 0xFF) * P5, 11) * P1;
                p++;
            }
            h ^= h >>> 15;
            h *= P2;
            h ^= h >>> 13;
            h *= P3;
            h ^= h >>> 16;
            return h;
        }

        static int i32(byte[] d, int p) {
            return (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8 | (d[p + 2] & 0xFF) << 16 | (d[p + 3] & 0xFF) << 24;
        }
    }
}
