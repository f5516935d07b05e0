package dev.microforge.image.erofs.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.CorruptImageException;
import dev.microforge.testkit.Bounded;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mutation fuzzing of the zstd, MicroLZMA and DEFLATE decoders: valid pclusters of real data with flipped bits,
 * overwritten bytes, cut or extended ends, and wrong extent lengths, plus random garbage. Every decode must
 * either succeed or throw {@link CorruptImageException}: no other exception, no hang (each decode is bounded),
 * no byte written outside its destination range. {@code -Dmicroforge.fuzz.seconds=S} (default 6 s per codec)
 * sets the budget, {@code -Dmicroforge.fuzz.seed=N} replays a run; a failure names the seed and the case.
 */
class PclusterFuzzTest {
    private static final int GUARD = 64;

    @Test
    void decodersRefuseOrDecodeEveryMutant() throws Exception {
        long seed = Long.getLong("microforge.fuzz.seed", System.nanoTime());
        long budget = Long.getLong("microforge.fuzz.seconds", 6) * 1_000_000_000L;
        byte[] bin = PclusterCodecTest.filesUnder("/usr/bin", 400_000);
        byte[] doc = PclusterCodecTest.filesUnder("/usr/share/doc", 200_000);
        int refused = 0;
        int decoded = 0;
        try (Bounded bounded = new Bounded("pcluster-fuzz")) {
            for (PclusterCodec codec : PclusterCodec.values()) {
                for (int cap : new int[] {4096, 65536}) {
                    AlgorithmConfig cfg = codec.config(cap);
                    DestSizeCompressor c = codec.newCompressor(codec.defaultLevel(), cfg);
                    List<byte[]> streams = new ArrayList<>();
                    List<Integer> lengths = new ArrayList<>();
                    for (byte[] data : new byte[][] {bin, doc}) {
                        for (int pos = 0, k = 0; pos < data.length && k < 6; k++) {
                            byte[] dst = new byte[cap];
                            long r = c.compressDestSize(data, pos, data.length - pos, dst, 0, cap);
                            streams.add(Arrays.copyOf(dst, DestSizeCompressor.produced(r)));
                            lengths.add(DestSizeCompressor.consumed(r));
                            pos += DestSizeCompressor.consumed(r);
                        }
                    }
                    PclusterDecoder d = PclusterCodec.decoder(cfg);
                    Random rnd = new Random(seed ^ codec.ordinal() * 31L ^ cap);
                    long end = System.nanoTime() + budget / 2;
                    for (int run = 0; System.nanoTime() < end; run++) {
                        int which = rnd.nextInt(streams.size());
                        byte[] src = mutate(streams.get(which), rnd);
                        int outLen = lengths.get(which);
                        int kind = rnd.nextInt(8);
                        if (kind == 0) {
                            outLen = Math.max(1, outLen - 1 - rnd.nextInt(outLen));
                        } else if (kind == 1) {
                            outLen += 1 + rnd.nextInt(4096);
                        }
                        byte[] out = new byte[outLen + 2 * GUARD];
                        Arrays.fill(out, (byte) 0xA5);
                        int len = outLen;
                        String what = "seed " + seed + ", " + codec + " cap " + cap + ", run " + run + ", stream " + which + ", extent " + outLen;
                        boolean ok = bounded.call(Duration.ofSeconds(20), () -> what, () -> {
                            try {
                                d.decode(src, 0, src.length, out, GUARD, len);
                                return true;
                            } catch (CorruptImageException e) {
                                return false;
                            } catch (RuntimeException e) {
                                throw new AssertionError(what + ": " + e, e);
                            }
                        });
                        if (ok) {
                            decoded++;
                        } else {
                            refused++;
                        }
                        for (int i = 0; i < GUARD; i++) {
                            assertEquals((byte) 0xA5, out[i], what + ": written before the destination");
                            assertEquals((byte) 0xA5, out[GUARD + outLen + i], what + ": written after the destination");
                        }
                    }
                }
            }
        }
        assertTrue(refused > 100, "seed " + seed + ": only " + refused + " mutants refused (" + decoded + " decoded)");
    }

    private static byte[] mutate(byte[] s, Random rnd) {
        byte[] b = s.clone();
        switch (rnd.nextInt(6)) {
            case 0 -> {
                for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                    int p = rnd.nextInt(b.length);
                    b[p] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> {
                for (int i = 1 + rnd.nextInt(8); i > 0; i--) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
            }
            case 2 -> b = Arrays.copyOf(b, Math.max(1, b.length - 1 - rnd.nextInt(Math.max(1, b.length / 2))));
            case 3 -> {
                b = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(64));
                for (int i = s.length; i < b.length; i++) {
                    b[i] = (byte) rnd.nextInt(256);
                }
            }
            case 4 -> {
                // the header and the first bytes: properties, frame descriptor, block types
                for (int i = 0; i < 3; i++) {
                    b[rnd.nextInt(Math.min(b.length, 16))] = (byte) rnd.nextInt(256);
                }
            }
            default -> {
                byte[] g = new byte[1 + rnd.nextInt(b.length)];
                rnd.nextBytes(g);
                b = g;
            }
        }
        return b;
    }
}
