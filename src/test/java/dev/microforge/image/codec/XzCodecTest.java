package dev.microforge.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.TestTrees;
import java.io.ByteArrayOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** xz's pre-check skips only blocks xz cannot shrink; everything else still compresses and reads back. */
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

    /** Without --level, xz chooses per block: BCJ + level 4 for code, level 3 for text, level 4 otherwise. */
    @Test
    void defaultChoosesPerBlock() throws Exception {
        XzCodec xz = new XzCodec();
        byte[] code = TestTrees.x86Code(3, BLOCK);
        byte[] text = TestTrees.text(4, BLOCK);
        // neither code nor text-like: entropy between FAST_ENTROPY and the incompressible threshold
        byte[] mixed = new byte[BLOCK];
        byte[] random = TestTrees.random(5, BLOCK);
        for (int i = 0; i < BLOCK; i++) {
            mixed[i] = i % 3 == 0 ? random[i] : text[i];
        }
        double h = new XzCodec.Precheck(BLOCK).entropy(mixed, 0, BLOCK);
        assertTrue(h > XzCodec.FAST_ENTROPY && h < XzCodec.Precheck.MIN_ENTROPY, "entropy " + h);
        assertTrue(new XzCodec.Precheck(BLOCK).entropy(text, 0, BLOCK) < XzCodec.FAST_ENTROPY);

        Codec.Compressor def = xz.newDefaultCompressor(BLOCK);
        assertArrayEquals(compress(xz.newCompressor(4, BLOCK), code), compress(def, code), "code: level 4 with BCJ");
        assertArrayEquals(compress(new XzCodec(XzCodec.Bcj.NONE).newCompressor(XzCodec.FAST_LEVEL, BLOCK), text),
                compress(def, text), "text: fast mode");
        assertArrayEquals(compress(new XzCodec(XzCodec.Bcj.NONE).newCompressor(4, BLOCK), mixed), compress(def, mixed),
                "other: level 4");
        // an explicit level applies to every block
        assertArrayEquals(compress(new XzCodec(XzCodec.Bcj.NONE).newCompressor(4, BLOCK), text),
                compress(xz.newCompressor(4, BLOCK), text));
        byte[] back = new byte[BLOCK];
        byte[] packed = compress(def, text);
        assertEquals(BLOCK, xz.newDecompressor().decompress(packed, 0, packed.length, back, 0, BLOCK));
        assertArrayEquals(text, back);
    }
}
