package dev.microforge.image.erofs.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.CorruptImageException;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fixed-output compressors and the decoders of zstd, MicroLZMA and DEFLATE pclusters: round trips on real
 * data, the capacity, how close the consumed prefix comes to the longest one that fits, determinism, the
 * configuration records, and refusals. (The kernel's verdict is the 6.12 mount test's; external decoders are
 * {@code PclusterOracleTest}'s.)
 */
class PclusterCodecTest {
    static final int SEGMENT = 1 << 20;

    /** Up to {@code max} bytes of the regular files under {@code dir}, in path order. */
    static byte[] filesUnder(String dir, int max) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(Path.of(dir))) {
            s.filter(p -> Files.isRegularFile(p) && !Files.isSymbolicLink(p)).sorted().forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] out = new byte[max];
        int n = 0;
        for (Path p : files) {
            if (n == max) {
                break;
            }
            try {
                byte[] b = Files.readAllBytes(p);
                int k = Math.min(b.length, max - n);
                System.arraycopy(b, 0, out, n, k);
                n += k;
            } catch (IOException e) {
                // unreadable file: skip
            }
        }
        assertTrue(n > max / 2, dir + " holds too little data for the test: " + n + " bytes");
        return Arrays.copyOf(out, n);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Random data, then text: a pcluster that starts incompressible. */
    static byte[] mixed() {
        byte[] text = filesUnder("/usr/share/doc", 300_000);
        byte[] b = Arrays.copyOf(random(70_000, 7), 70_000 + text.length);
        System.arraycopy(text, 0, b, 70_000, text.length);
        return b;
    }

    static Stream<Arguments> cases() {
        byte[] bin = filesUnder("/usr/bin", 1_200_000);
        byte[] doc = filesUnder("/usr/share/doc", 600_000);
        byte[] rnd = random(300_000, 1);
        byte[] zeros = new byte[1_500_000];
        byte[] mix = mixed();
        List<Arguments> out = new ArrayList<>();
        for (PclusterCodec c : PclusterCodec.values()) {
            int[] caps = c == PclusterCodec.LZMA ? new int[] {4096, 65536} : new int[] {4096, 65536, 131072};
            for (int cap : caps) {
                out.add(Arguments.of(c, cap, "usr-bin", c == PclusterCodec.LZMA ? Arrays.copyOf(bin, 300_000) : bin));
                out.add(Arguments.of(c, cap, "doc", doc));
                out.add(Arguments.of(c, cap, "random", rnd));
                out.add(Arguments.of(c, cap, "zeros", zeros));
                out.add(Arguments.of(c, cap, "mixed", mix));
            }
        }
        return out.stream();
    }

    /** Compresses {@code data} in 1 MiB segments (as the writer does) into pclusters, decodes each. */
    static int roundTrip(PclusterCodec codec, int level, int cap, byte[] data) throws CorruptImageException {
        AlgorithmConfig cfg = codec.config(cap);
        DestSizeCompressor c = codec.newCompressor(level, cfg);
        PclusterDecoder d = PclusterCodec.decoder(cfg);
        byte[] dst = new byte[cap + 32];
        byte[] back = new byte[SEGMENT];
        int pclusters = 0;
        for (int s = 0; s < data.length; s += SEGMENT) {
            int end = Math.min(data.length, s + SEGMENT);
            for (int pos = s; pos < end; pclusters++) {
                Arrays.fill(dst, (byte) 0x5A);
                long r = c.compressDestSize(data, pos, end - pos, dst, 16, cap);
                int consumed = DestSizeCompressor.consumed(r);
                int produced = DestSizeCompressor.produced(r);
                assertTrue(consumed > 0, codec + " consumed nothing at " + pos);
                assertTrue(produced > 0 && produced <= cap, codec + " produced " + produced + " for capacity " + cap);
                for (int i = 0; i < 16; i++) {
                    assertEquals((byte) 0x5A, dst[i], "written before the destination");
                }
                for (int i = 16 + cap; i < dst.length; i++) {
                    assertEquals((byte) 0x5A, dst[i], "written after the capacity");
                }
                assertNotEquals(0, dst[16], "first byte zero: EROFS' zero padding would swallow it");
                Arrays.fill(back, (byte) 1);
                d.decode(dst, 16, produced, back, 0, consumed);
                assertTrue(Arrays.equals(back, 0, consumed, data, pos, pos + consumed), codec + " round trip at " + pos);
                pos += consumed;
            }
        }
        return pclusters;
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void roundTripsEveryPclusterWithinCapacity(PclusterCodec codec, int cap, String name, byte[] data) throws Exception {
        roundTrip(codec, codec.defaultLevel(), cap, data);
    }

    @Test
    void everyLevelRoundTrips() throws Exception {
        byte[] data = filesUnder("/usr/bin", 40_000);
        for (PclusterCodec c : PclusterCodec.values()) {
            for (int level = c.minLevel(); level <= c.maxLevel(); level++) {
                roundTrip(c, level, 4096, data);
            }
        }
    }

    /**
     * The consumed prefix against the longest prefix that fits (bisection over whole compressions) for full
     * pclusters of /usr/bin data: at least 0.99 of it (measured: 0.996 to 0.998, see docs/erofs.md).
     */
    @Test
    void consumesNearlyTheLongestPrefixThatFits() {
        byte[] data = filesUnder("/usr/bin", 700_000);
        for (PclusterCodec codec : PclusterCodec.values()) {
            int[] caps = codec == PclusterCodec.LZMA ? new int[] {4096} : new int[] {4096, 131072};
            for (int cap : caps) {
                byte[] in = codec == PclusterCodec.LZMA ? Arrays.copyOf(data, 120_000) : data;
                AlgorithmConfig cfg = codec.config(cap);
                DestSizeCompressor c = codec.newCompressor(codec == PclusterCodec.ZSTD ? 3 : 1, cfg);
                FitSearch whole = codec == PclusterCodec.ZSTD ? new ZstdPcluster.Compressor(3, cfg) : (FitSearch) codec.newCompressor(1, cfg);
                byte[] dst = new byte[cap];
                byte[] scratch = new byte[cap * 2 + 64];
                long got = 0;
                long best = 0;
                for (int pos = 0; pos < in.length;) {
                    long r = c.compressDestSize(in, pos, in.length - pos, dst, 0, cap);
                    int consumed = DestSizeCompressor.consumed(r);
                    long lo = 0;
                    long hi = in.length - pos + 1L;
                    while (hi - lo > 1) {
                        long m = (lo + hi) / 2;
                        int z = whole.trial(in, pos, (int) m, scratch, scratch.length);
                        if (z >= 0 && z <= cap) {
                            lo = m;
                        } else {
                            hi = m;
                        }
                    }
                    if (lo < in.length - pos) {
                        got += consumed;
                        best += lo;
                    }
                    pos += consumed;
                }
                double ratio = (double) got / best;
                assertTrue(ratio >= 0.99, codec + " at " + cap + ": consumed " + got + " of the optimum " + best + " (" + ratio + ")");
            }
        }
    }

    @Test
    void bytesDependOnTheInputOnly() {
        byte[] a = filesUnder("/usr/bin", 300_000);
        byte[] other = filesUnder("/usr/share/doc", 200_000);
        for (PclusterCodec codec : PclusterCodec.values()) {
            for (int cap : new int[] {4096, 131072}) {
                AlgorithmConfig cfg = codec.config(cap);
                DestSizeCompressor fresh = codec.newCompressor(codec.defaultLevel(), cfg);
                DestSizeCompressor used = codec.newCompressor(codec.defaultLevel(), cfg);
                byte[] junk = new byte[cap];
                for (int pos = 0; pos < other.length;) {
                    pos += Math.max(1, DestSizeCompressor.consumed(used.compressDestSize(other, pos, other.length - pos, junk, 0, cap)));
                }
                byte[] x = new byte[cap];
                byte[] y = new byte[cap];
                for (int pos = 0; pos < Math.min(a.length, 3 * cap * 4);) {
                    long r1 = fresh.compressDestSize(a, pos, a.length - pos, x, 0, cap);
                    long r2 = used.compressDestSize(a, pos, a.length - pos, y, 0, cap);
                    assertEquals(r1, r2, codec + " at " + pos);
                    assertArrayEquals(Arrays.copyOf(x, DestSizeCompressor.produced(r1)), Arrays.copyOf(y, DestSizeCompressor.produced(r2)), codec + " at " + pos);
                    pos += DestSizeCompressor.consumed(r1);
                }
            }
        }
    }

    @Test
    void aDeflateStreamStartingWithAStoredBlockGetsANonZeroFirstByte() throws Exception {
        byte[] data = mixed();
        AlgorithmConfig cfg = PclusterCodec.DEFLATE.config(65536);
        DestSizeCompressor c = PclusterCodec.DEFLATE.newCompressor(6, cfg);
        byte[] dst = new byte[65536];
        long r = c.compressDestSize(data, 0, data.length, dst, 0, 65536);
        // bit 0 BFINAL = 0, bits 1-2 BTYPE = 00 (stored), bit 3 set: the unused padding bit
        assertEquals(0x08, dst[0] & 0xFF);
        byte[] back = new byte[DestSizeCompressor.consumed(r)];
        PclusterCodec.decoder(cfg).decode(dst, 0, DestSizeCompressor.produced(r), back, 0, back.length);
        assertArrayEquals(Arrays.copyOf(data, back.length), back);
    }

    @Test
    void microLzmaStartsWithTheNegatedPropertiesByte() {
        AlgorithmConfig cfg = PclusterCodec.LZMA.config(4096);
        byte[] dst = new byte[4096];
        PclusterCodec.LZMA.newCompressor(6, cfg).compressDestSize(filesUnder("/usr/bin", 20_000), 0, 20_000, dst, 0, 4096);
        // lc 3, lp 0, pb 2: (2 * 5 + 0) * 9 + 3 = 93 = 0x5D, negated 0xA2
        assertEquals(0xA2, dst[0] & 0xFF);
    }

    @Test
    void configRecordsHaveTheKernelsLayout() throws Exception {
        assertArrayEquals(new byte[] {6, 0, 0, 10, 0, 0, 0, 0}, PclusterCodec.ZSTD.config(131072).encode());
        assertArrayEquals(new byte[] {6, 0, 0, 5, 0, 0, 0, 0}, PclusterCodec.ZSTD.config(4096).encode());
        assertArrayEquals(new byte[] {14, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, PclusterCodec.LZMA.config(131072).encode());
        assertArrayEquals(new byte[] {14, 0, 0, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, PclusterCodec.LZMA.config(4096).encode());
        assertArrayEquals(new byte[] {6, 0, 15, 0, 0, 0, 0, 0}, PclusterCodec.DEFLATE.config(4096).encode());
        assertArrayEquals(new byte[] {14, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new AlgorithmConfig(ErofsAlgorithm.LZ4, 0, 16).encode());

        List<AlgorithmConfig> all = List.of(PclusterCodec.ZSTD.config(65536), new AlgorithmConfig(ErofsAlgorithm.LZ4, 0, 16),
                PclusterCodec.DEFLATE.config(65536), PclusterCodec.LZMA.config(65536));
        byte[] area = AlgorithmConfig.encodeArea(all);
        assertEquals(16 + 16 + 8 + 8, area.length);
        assertEquals(0xF, AlgorithmConfig.bitmap(all));
        byte[] image = new byte[100];
        System.arraycopy(area, 0, image, 12, area.length);
        var back = AlgorithmConfig.decodeArea(0xF, image, 12, 12 + area.length);
        for (AlgorithmConfig c : all) {
            assertEquals(c, back.get(c.algorithm()));
        }
    }

    @Test
    void configAreasTheKernelRefusesAreRefused() {
        byte[] ok = AlgorithmConfig.encodeArea(List.of(PclusterCodec.ZSTD.config(65536)));
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x18, ok, 0, ok.length), "unknown algorithm bit");
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x8, ok, 0, ok.length - 1), "record past the end");
        byte[] zstdLog = ok.clone();
        zstdLog[3] = 11;
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x8, zstdLog, 0, zstdLog.length), "zstd window over 1 MiB");
        byte[] zstdFmt = ok.clone();
        zstdFmt[2] = 1;
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x8, zstdFmt, 0, zstdFmt.length), "zstd format");
        byte[] shortRec = ok.clone();
        shortRec[0] = 5;
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x8, shortRec, 0, shortRec.length), "record too short");
        byte[] lzma = AlgorithmConfig.encodeArea(List.of(PclusterCodec.LZMA.config(65536)));
        byte[] lzmaBig = lzma.clone();
        lzmaBig[5] = 1; // dict_size 16 MiB + 256 KiB
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x2, lzmaBig, 0, lzmaBig.length), "lzma dictionary over 8 MiB");
        byte[] lzmaSmall = new byte[16];
        lzmaSmall[0] = 14;
        lzmaSmall[3] = 0x0F; // 3840 bytes
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x2, lzmaSmall, 0, 16), "lzma dictionary under 4 KiB");
        byte[] lzmaFmt = lzma.clone();
        lzmaFmt[6] = 1;
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x2, lzmaFmt, 0, lzmaFmt.length), "lzma format");
        byte[] dfl = AlgorithmConfig.encodeArea(List.of(PclusterCodec.DEFLATE.config(4096)));
        dfl[2] = 16;
        assertThrows(CorruptImageException.class, () -> AlgorithmConfig.decodeArea(0x4, dfl, 0, dfl.length), "deflate windowbits 16");
    }

    @Test
    void levelsOutOfRangeAreOneLineUserErrors() {
        assertEquals("--level 23 is out of range for zstd (1 to 22)", assertThrows(UserError.class, () -> PclusterCodec.ZSTD.checkLevel(23)).getMessage());
        assertEquals("--level 0 is out of range for zstd (1 to 22)", assertThrows(UserError.class, () -> PclusterCodec.ZSTD.checkLevel(0)).getMessage());
        assertEquals("--level 10 is out of range for lzma (0 to 9)", assertThrows(UserError.class, () -> PclusterCodec.LZMA.checkLevel(10)).getMessage());
        assertEquals("--level 0 is out of range for deflate (1 to 9)", assertThrows(UserError.class, () -> PclusterCodec.DEFLATE.checkLevel(0)).getMessage());
        for (PclusterCodec c : PclusterCodec.values()) {
            c.checkLevel(c.defaultLevel());
            assertEquals(c, PclusterCodec.named(c.label()));
        }
    }

    @Test
    void aZstdFrameWithAWindowOverTheConfiguredOneIsRefused() throws Exception {
        byte[] data = filesUnder("/usr/bin", 200_000);
        AlgorithmConfig big = PclusterCodec.ZSTD.config(131072);
        byte[] dst = new byte[131072];
        long r = PclusterCodec.ZSTD.newCompressor(3, big).compressDestSize(data, 0, data.length, dst, 0, 131072);
        byte[] back = new byte[DestSizeCompressor.consumed(r)];
        PclusterDecoder small = PclusterCodec.decoder(PclusterCodec.ZSTD.config(4096));
        CorruptImageException e = assertThrows(CorruptImageException.class,
                () -> small.decode(dst, 0, DestSizeCompressor.produced(r), back, 0, back.length));
        assertTrue(e.getMessage().contains("window"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void decodersRefuseTruncatedShortAndLongStreams(PclusterCodec codec) throws Exception {
        byte[] data = filesUnder("/usr/share/doc", 100_000);
        AlgorithmConfig cfg = codec.config(4096);
        byte[] dst = new byte[4096];
        long r = codec.newCompressor(codec.defaultLevel(), cfg).compressDestSize(data, 0, data.length, dst, 0, 4096);
        int produced = DestSizeCompressor.produced(r);
        int consumed = DestSizeCompressor.consumed(r);
        PclusterDecoder d = PclusterCodec.decoder(cfg);
        byte[] back = new byte[consumed + 100];
        assertThrows(CorruptImageException.class, () -> d.decode(dst, 0, produced - 7, back, 0, consumed), "truncated");
        assertThrows(CorruptImageException.class, () -> d.decode(dst, 0, produced, back, 0, consumed - 1), "extent shorter than the stream");
        assertThrows(CorruptImageException.class, () -> d.decode(dst, 0, produced, back, 0, consumed + 1), "extent longer than the stream");
        d.decode(dst, 0, produced, back, 0, consumed);
        assertTrue(Arrays.equals(back, 0, consumed, data, 0, consumed));
    }

    static Stream<PclusterCodec> codecs() {
        return Stream.of(PclusterCodec.values());
    }

    @Test
    void paddingIsSkippedWithinTheFirstBlockOnly() throws Exception {
        byte[] b = new byte[8192];
        b[100] = 7;
        assertEquals(100, PclusterDecoder.skipPadding(b, 0, b.length, 4096));
        byte[] z = new byte[8192];
        z[5000] = 1;
        assertThrows(CorruptImageException.class, () -> PclusterDecoder.skipPadding(z, 0, z.length, 4096));
    }

    /** The promise behind skipping a remainder's compression: random data of the limit's length is consumed whole. */
    @Test
    void inputsUpToTheWholeFitLimitAreConsumedWhole() {
        for (PclusterCodec codec : PclusterCodec.values()) {
            for (int cap : new int[] {4096, 65536, 131072}) {
                AlgorithmConfig cfg = codec.config(cap);
                DestSizeCompressor c = codec.newCompressor(codec.minLevel(), cfg);
                int limit = c.wholeFitLimit(cap);
                assertTrue(limit > cap * 9 / 10, codec + " " + cap + ": limit " + limit);
                byte[] dst = new byte[cap];
                for (byte[] data : new byte[][] {random(limit, cap), new byte[limit], filesUnder("/usr/bin", limit)}) {
                    long r = c.compressDestSize(data, 0, data.length, dst, 0, cap);
                    assertEquals(limit, DestSizeCompressor.consumed(r), codec + " " + cap);
                }
            }
        }
    }
}
