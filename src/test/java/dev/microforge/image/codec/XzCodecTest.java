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
}
