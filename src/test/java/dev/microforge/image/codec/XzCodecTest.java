package dev.microforge.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xz's pre-check skips only blocks xz cannot shrink; everything else still compresses and reads back; the
 * per-block default policy (BCJ, levels) by block class, and real unsquashfs reading its images.
 */
class XzCodecTest {
    private static final int BLOCK = 1 << 20;

    private static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
            g.write(b);
        }
        return bo.toByteArray();
    }

    private static void roundTrip(Codec codec, byte[] src, int n, byte[] dst) throws Exception {
        byte[] back = new byte[src.length];
        assertEquals(src.length, codec.newDecompressor().decompress(dst, 0, n, back, 0, back.length));
        assertArrayEquals(src, back);
    }

    @Test
    void precheckFlagsCompressedDataOnly() throws Exception {
        XzCodec.Precheck p = new XzCodec.Precheck(BLOCK);
        byte[] random = TestTrees.random(1, BLOCK);
        assertTrue(p.incompressible(random, 0, random.length));
        byte[] gz = gzip(TestTrees.text(2, 3 * BLOCK));
        assertTrue(p.incompressible(gz, 0, Math.min(gz.length, BLOCK)), "gzip output");
        // high entropy but repeated: LZ matches pay, so xz must run
        byte[] twice = new byte[BLOCK];
        System.arraycopy(random, 0, twice, 0, BLOCK / 2);
        System.arraycopy(random, 0, twice, BLOCK / 2, BLOCK / 2);
        assertFalse(p.incompressible(twice, 0, twice.length));
        // low entropy without long repeats (e.g. base64 or hex text): literal coding pays
        byte[] hex = java.util.HexFormat.of().formatHex(random, 0, BLOCK / 2).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertFalse(p.incompressible(hex, 0, hex.length));
        byte[] text = TestTrees.text(3, BLOCK);
        assertFalse(p.incompressible(text, 0, text.length));
        // small blocks (metadata) are never pre-checked
        assertFalse(p.incompressible(random, 0, XzCodec.Precheck.MIN_LENGTH - 1));
    }

    @Test
    void compressorSkipsIncompressibleAndCompressesTheRest() throws Exception {
        Codec xz = Codec.named("xz");
        Codec.Compressor c = xz.newCompressor(6, BLOCK);
        byte[] dst = new byte[BLOCK];
        assertEquals(-1, c.compress(TestTrees.random(4, BLOCK), 0, BLOCK, dst));
        byte[] random = TestTrees.random(5, BLOCK / 2);
        byte[] twice = new byte[BLOCK];
        System.arraycopy(random, 0, twice, 0, random.length);
        System.arraycopy(random, 0, twice, random.length, random.length);
        int n = c.compress(twice, 0, BLOCK, dst);
        assertTrue(n > 0 && n < BLOCK * 6 / 10, "repeated random block: " + n);
        roundTrip(xz, twice, n, dst);
        byte[] text = TestTrees.text(6, BLOCK);
        n = c.compress(text, 0, BLOCK, dst);
        assertTrue(n > 0 && n < BLOCK / 2, "text: " + n);
        roundTrip(xz, text, n, dst);
    }

    /** The xz block header's filter chain: number of filters and the first filter's id. */
    private static int[] filters(byte[] stream) {
        // stream header (12 bytes), then the block header: size byte, flags (low 2 bits: filters - 1), filter ids
        return new int[] {(stream[13] & 3) + 1, stream[14] & 0xff};
    }

    @Test
    void bcjOnlyWhereBlocksLookLikeX86Code() throws Exception {
        byte[] code = TestTrees.x86Code(1, BLOCK);
        byte[] text = TestTrees.text(2, BLOCK);
        assertTrue(XzCodec.looksLikeX86(code, 0, code.length));
        assertFalse(XzCodec.looksLikeX86(text, 0, text.length));
        assertFalse(XzCodec.looksLikeX86(code, 0, XzCodec.BCJ_MIN_LENGTH - 1), "too short to tell");
        // an object file's calls are not relocated yet (displacement 0): BCJ would make them larger
        byte[] object = code.clone();
        for (int i = 0; i + 5 <= object.length; i++) {
            if (object[i] == (byte) 0xe8) {
                java.util.Arrays.fill(object, i + 1, i + 5, (byte) 0);
                i += 4;
            }
        }
        assertFalse(XzCodec.looksLikeX86(object, 0, object.length));

        byte[] dst = new byte[BLOCK];
        int auto = new XzCodec(XzCodec.Bcj.AUTO).newCompressor(4, BLOCK).compress(code, 0, BLOCK, dst);
        assertArrayEquals(new int[] {2, 0x04}, filters(dst), "x86 BCJ, then LZMA2");
        roundTrip(new XzCodec(), code, auto, dst);
        int none = new XzCodec(XzCodec.Bcj.NONE).newCompressor(4, BLOCK).compress(code, 0, BLOCK, dst);
        assertArrayEquals(new int[] {1, 0x21}, filters(dst), "LZMA2 alone");
        assertTrue(auto < none * 0.9, "BCJ pays on code: " + auto + " vs " + none);

        int t = new XzCodec(XzCodec.Bcj.AUTO).newCompressor(4, BLOCK).compress(text, 0, BLOCK, dst);
        assertArrayEquals(new int[] {1, 0x21}, filters(dst), "text: no BCJ");
        roundTrip(new XzCodec(), text, t, dst);
        t = new XzCodec(XzCodec.Bcj.X86).newCompressor(4, BLOCK).compress(text, 0, BLOCK, dst);
        assertArrayEquals(new int[] {2, 0x04}, filters(dst), "x86: every block");
        roundTrip(new XzCodec(), text, t, dst);
    }

    private static byte[] compress(Codec.Compressor c, byte[] src) {
        byte[] dst = new byte[src.length];
        int n = c.compress(src, 0, src.length, dst);
        assertTrue(n > 0, "compressed");
        return java.util.Arrays.copyOf(dst, n);
    }

    /** Text-like bytes with a larger vocabulary than {@link TestTrees#text}: order-0 entropy about 4.5 bits. */
    static byte[] prose(long seed, int size) {
        java.util.Random r = new java.util.Random(seed);
        String[] words = new String[300];
        for (int i = 0; i < words.length; i++) {
            StringBuilder w = new StringBuilder();
            for (int k = 2 + r.nextInt(8); k > 0; k--) {
                w.append((char) ('a' + r.nextInt(26)));
            }
            words[i] = w.toString();
        }
        StringBuilder sb = new StringBuilder(size + 16);
        while (sb.length() < size) {
            sb.append(words[r.nextInt(words.length)]).append(r.nextInt(12) == 0 ? ".\n" : r.nextInt(8) == 0 ? ", " : " ");
        }
        return sb.substring(0, size).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Sparse bytes: mostly zeros, some small counters (order-0 entropy about 1-2 bits). */
    static byte[] sparse(long seed, int size) {
        java.util.Random r = new java.util.Random(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i += 4) {
            if (r.nextInt(3) == 0) {
                b[i] = (byte) r.nextInt(16);
            }
        }
        return b;
    }

    /** Binary data: random bytes with every eighth a zero (entropy about 7.5 bits; compressible, barely). */
    static byte[] binary(long seed, int size) {
        byte[] b = TestTrees.random(seed, size);
        for (int i = 0; i < size; i += 8) {
            b[i] = 0;
        }
        return b;
    }

    private static byte[] plain(int level, byte[] src) {
        return compress(new XzCodec(XzCodec.Bcj.NONE).newCompressor(level, BLOCK), src);
    }

    /**
     * Without --level, xz chooses per block: BCJ + level 4 for code, level 6 for text-like entropy, level 3 for
     * sparse and binary blocks, level 6 for blocks too short to judge; the choice depends on the bytes alone.
     */
    @Test
    void defaultChoosesPerBlock() throws Exception {
        XzCodec xz = new XzCodec();
        byte[] code = TestTrees.x86Code(3, BLOCK);
        byte[] text = prose(4, BLOCK);
        byte[] sparse = sparse(5, BLOCK);
        byte[] binary = binary(6, BLOCK);
        XzCodec.Precheck p = new XzCodec.Precheck(BLOCK);
        double ht = p.entropy(text, 0, BLOCK);
        double hs = p.entropy(sparse, 0, BLOCK);
        double hb = p.entropy(binary, 0, BLOCK);
        assertTrue(ht >= XzCodec.SPARSE_ENTROPY && ht < XzCodec.DENSE_ENTROPY, "text entropy " + ht);
        assertTrue(hs < XzCodec.SPARSE_ENTROPY, "sparse entropy " + hs);
        assertTrue(hb >= XzCodec.DENSE_ENTROPY && hb < XzCodec.Precheck.MIN_ENTROPY, "binary entropy " + hb);
        assertFalse(p.incompressible(binary, 0, BLOCK));
        assertEquals(6, XzCodec.defaultLevel(ht));
        assertEquals(3, XzCodec.defaultLevel(hs));
        assertEquals(3, XzCodec.defaultLevel(hb));
        assertEquals(6, XzCodec.defaultLevel(Double.NaN));

        Codec.Compressor def = xz.newDefaultCompressor(BLOCK);
        byte[] c = compress(def, code);
        assertArrayEquals(compress(xz.newCompressor(4, BLOCK), code), c, "code: level 4 with BCJ");
        assertArrayEquals(new int[] {2, 0x04}, filters(c), "code: x86 BCJ, then LZMA2");
        assertArrayEquals(plain(6, text), compress(def, text), "text: level 6");
        assertArrayEquals(plain(3, sparse), compress(def, sparse), "sparse: fast mode");
        assertArrayEquals(plain(3, binary), compress(def, binary), "binary: fast mode");
        // a metadata-sized block is too short to measure: level 6
        byte[] meta = java.util.Arrays.copyOf(sparse, 8192);
        assertArrayEquals(plain(6, meta), compress(def, meta), "short block: level 6");
        // why text gets level 6: fast mode leaves several percent on the table
        assertTrue(plain(6, text).length < plain(3, text).length * 0.97, "level 6 wins on text");
        // an explicit level applies to every block
        assertArrayEquals(plain(4, text), compress(xz.newCompressor(4, BLOCK), text));
        assertArrayEquals(plain(4, sparse), compress(xz.newCompressor(4, BLOCK), sparse));
        // a fresh compressor and a reused one give the same bytes, whatever came before
        Codec.Compressor other = xz.newDefaultCompressor(BLOCK);
        compress(other, binary);
        compress(other, code);
        assertArrayEquals(compress(def, text), compress(other, text), "same bytes from a reused compressor");
        for (byte[] b : java.util.List.of(code, text, sparse, binary)) {
            byte[] packed = compress(def, b);
            byte[] back = new byte[BLOCK];
            assertEquals(BLOCK, xz.newDecompressor().decompress(packed, 0, packed.length, back, 0, BLOCK));
            assertArrayEquals(b, back);
        }
    }

    /**
     * Every class of block in one image built with the default policy: unsquashfs (squashfs-tools, liblzma)
     * extracts the tree byte for byte, and the image bytes do not depend on the thread count.
     */
    @Test
    @Tag("oracle")
    void unsquashfsReadsDefaultPolicyImages(@TempDir Path tmp) throws Exception {
        Path unsquashfs = Tools.require("unsquashfs");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("code"), TestTrees.x86Code(7, 2 * BLOCK + 12345));
        Files.write(src.resolve("text"), prose(8, 2 * BLOCK + 999));
        Files.write(src.resolve("sparse"), sparse(9, BLOCK + 4321));
        Files.write(src.resolve("binary"), binary(10, BLOCK + 77));
        Files.write(src.resolve("random"), TestTrees.random(11, BLOCK + 5));
        for (int i = 0; i < 40; i++) {
            Files.write(src.resolve("small-" + i), prose(100 + i, 1000 + 997 * i));
        }
        Path one = tmp.resolve("one.sqfs");
        Path two = tmp.resolve("two.sqfs");
        ImageOptions o = ImageOptions.defaults().withCompression("xz").withBlockSize((long) BLOCK).withMtime(1700000000L);
        ImageBuild.fromDirectory(src, "squashfs", o.withThreads(1), one);
        ImageBuild.fromDirectory(src, "squashfs", o.withThreads(2), two);
        assertArrayEquals(Files.readAllBytes(one), Files.readAllBytes(two), "same image at 1 and 2 threads");

        Path out = tmp.resolve("out");
        Exec.ok(unsquashfs.toString(), "-no-progress", "-d", out.toString(), one.toString());
        TreeAssert.sameTree(src, out);
        Exec.Result s = Exec.ok(unsquashfs.toString(), "-s", one.toString());
        assertTrue(s.out().contains("Compression xz"), s.out());
        assertTrue(s.out().contains("Filters selected: x86"), s.out());
    }
}
