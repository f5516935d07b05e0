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
        return (src, off, len, dst) -> {
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
