package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.tukaani.xz.ArrayCache;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * xz streams with one LZMA2 filter and CRC32 checks, as mksquashfs -comp xz writes them (and the kernel's
 * xz_dec reads them): preset level (default 6), dictionary size = the block size, no BCJ filter.
 */
public final class XzCodec implements Codec {
    /** Decoder memory limit: a 1 MiB dictionary needs about 1 MiB; anything claiming far more is corrupt. */
    private static final int MEMORY_LIMIT_KIB = 64 * 1024;

    @Override
    public String name() {
        return "xz";
    }

    @Override
    public int defaultLevel() {
        return 6;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("xz", level, 0, 9);
    }

    /** The dictionary size for a block size (as mksquashfs: the block size; at least xz's minimum). */
    public static int dictSize(int blockSize) {
        return Math.max(blockSize, LZMA2Options.DICT_SIZE_MIN);
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        LZMA2Options opts;
        try {
            opts = new LZMA2Options(level);
            opts.setDictSize(dictSize(blockSize));
        } catch (UnsupportedOptionsException e) {
            throw new IllegalArgumentException(e);
        }
        ArrayCache cache = new BasicArrayCache();
        BoundedOut sink = new BoundedOut();
        Precheck precheck = new Precheck(blockSize);
        return (src, off, len, dst) -> {
            if (precheck.incompressible(src, off, len)) {
                return -1;
            }
            sink.reset(dst, len - 1);
            try {
                XZOutputStream xz = new XZOutputStream(sink, opts, XZ.CHECK_CRC32, cache);
                xz.write(src, off, len);
                xz.close(); // finishes the stream and returns the encoder's arrays to the cache
            } catch (Full e) {
                return -1;
            } catch (IOException e) {
                throw new IllegalStateException("xz compression failed", e);
            }
            return sink.n;
        };
    }

    @Override
    public Decompressor newDecompressor() {
        ArrayCache cache = new BasicArrayCache();
        return (src, off, len, dst, dstOff, maxLen) -> {
            int n = 0;
            try (XZInputStream in = new XZInputStream(new ByteArrayInputStream(src, off, len), MEMORY_LIMIT_KIB, true, cache)) {
                while (n < maxLen) {
                    int k = in.read(dst, dstOff + n, maxLen - n);
                    if (k < 0) {
                        return n;
                    }
                    n += k;
                }
                if (in.read() >= 0) {
                    throw new CorruptImageException("xz: block expands beyond " + maxLen + " bytes");
                }
                return n;
            } catch (CorruptImageException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new CorruptImageException("xz: " + e.getMessage());
            }
        };
    }

    /**
     * A cheap test for blocks xz cannot shrink (compressed files: .gz, .xz, .png, ...), which would otherwise
     * cost a full LZMA2 pass (about 100x this test) only to be stored raw. A block counts as incompressible when
     * its order-0 entropy is above {@link #MIN_ENTROPY} bits per byte (literal coding gains next to nothing) and
     * repeats of {@link #WINDOW} bytes or more, at any distance within the block, cover less than 1% of it
     * (matches gain next to nothing). Such a block is stored raw; xz would have saved well under 1% of it.
     * Deterministic: depends only on the block's bytes.
     */
    static final class Precheck {
        static final int MIN_LENGTH = 16 * 1024;
        static final double MIN_ENTROPY = 7.97;
        /**
         * Repeats are found through windows of this many bytes, anchored every {@link #STEP} bytes. 8, not 16:
         * a fragment block of small .gz files repeats their 10-byte gzip headers, which xz turns into about 1%
         * (host-man of the bench corpus: 16-byte windows skipped such blocks and the image grew 0.93%).
         */
        static final int WINDOW = 8;
        static final int STEP = 32;
        private static final java.lang.invoke.VarHandle LONGS =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
        private final int[] hist = new int[256];
        private int[] anchors = new int[1 << 16];

        Precheck(int blockSize) {
            int want = Integer.highestOneBit(Math.max(blockSize / STEP, 1 << 10)) * 2;
            anchors = new int[want];
        }

        boolean incompressible(byte[] src, int off, int len) {
            return len >= MIN_LENGTH && entropy(src, off, len) >= MIN_ENTROPY && repeated(src, off, len) < len / 100;
        }

        /** Order-0 entropy in bits per byte. */
        double entropy(byte[] src, int off, int len) {
            java.util.Arrays.fill(hist, 0);
            for (int i = off, end = off + len; i < end; i++) {
                hist[src[i] & 0xff]++;
            }
            double sum = 0;
            for (int c : hist) {
                if (c > 0) {
                    sum += c * Math.log(c);
                }
            }
            return (Math.log(len) - sum / len) / Math.log(2);
        }

        private static int hash(byte[] b, int i, int mask) {
            long x = (long) LONGS.get(b, i) * 0x9E3779B97F4A7C15L;
            return (int) (x ^ x >>> 29 ^ x >>> 41) & mask;
        }

        /**
         * About how many bytes repeat other bytes of the block, counted until 1% of it (a repeat of at least
         * {@code WINDOW + STEP} bytes is found unless table hashes collide; shorter ones when they recur often): windows at every {@code STEP}th
         * position go into a table, then every position's window is looked up and checked byte for byte.
         */
        int repeated(byte[] src, int off, int len) {
            int mask = anchors.length - 1;
            if (len / STEP > anchors.length) {
                anchors = new int[Integer.highestOneBit(len / STEP) * 2];
                mask = anchors.length - 1;
            }
            java.util.Arrays.fill(anchors, -1);
            int last = off + len - WINDOW;
            for (int i = off; i <= last; i += STEP) {
                anchors[hash(src, i, mask)] = i;
            }
            int covered = 0;
            int limit = len / 100;
            for (int i = off; i <= last; ) {
                int a = anchors[hash(src, i, mask)];
                if (a >= 0 && a != i && java.util.Arrays.equals(src, a, a + WINDOW, src, i, i + WINDOW)) {
                    covered += STEP;
                    if (covered >= limit) {
                        return covered;
                    }
                    i += STEP;
                } else {
                    i++;
                }
            }
            return covered;
        }
    }

    private static final class Full extends IOException {
        private static final long serialVersionUID = 1L;

        Full() {
            super("full", null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** Writes into a fixed array; throws {@link Full} when it would overflow. */
    private static final class BoundedOut extends OutputStream {
        private static final Full FULL = new Full();
        byte[] buf;
        int limit;
        int n;

        void reset(byte[] buf, int limit) {
            this.buf = buf;
            this.limit = limit;
            this.n = 0;
        }

        @Override
        public void write(int b) throws IOException {
            if (n >= limit) {
                throw FULL;
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > limit - n) {
                throw FULL;
            }
            System.arraycopy(b, off, buf, n, len);
            n += len;
        }
    }
}
