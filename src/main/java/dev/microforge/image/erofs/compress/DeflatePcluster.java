package dev.microforge.image.erofs.compress;

import dev.microforge.image.CorruptImageException;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * DEFLATE physical clusters (java.util.zip, i.e. zlib): one raw DEFLATE stream (RFC 1951, no zlib or gzip
 * wrapper) per pcluster, ending with a final block, with a 32 KiB window (windowbits 15). The kernel (6.6+,
 * {@code decompressor_deflate.c}) inflates it with {@code -MAX_WBITS} and refuses a stream that does not end
 * exactly at the extent's length. A stream whose first block is a non-final stored block starts with a zero
 * byte, which EROFS' zero padding would swallow: that byte's unused bit 3 (padding before the stored block's
 * length, ignored by every inflater) is set, as mkfs.erofs does.
 */
final class DeflatePcluster {
    /** Window bits written in the configuration record (java.util.zip always uses 15). */
    static final int WINDOW_BITS = 15;

    private DeflatePcluster() {
    }

    static final class Compressor extends FitSearch {
        private final Deflater deflater;

        Compressor(int level) {
            super(3.0, 8);
            deflater = new Deflater(level, true);
        }

        @Override
        public ErofsAlgorithm algorithm() {
            return ErofsAlgorithm.DEFLATE;
        }

        /** Stored, zlib adds 5 bytes per block of at most 16 KiB (its literal buffer) and a few to end. */
        @Override
        public int wholeFitLimit(int dstCap) {
            return Math.max(0, dstCap - 64 - dstCap / 1024);
        }

        @Override
        int trial(byte[] src, int off, int len, byte[] out, int outCap) {
            deflater.reset();
            deflater.setInput(src, off, len);
            deflater.finish();
            int n = 0;
            while (!deflater.finished()) {
                if (n == outCap) {
                    return -1;
                }
                n += deflater.deflate(out, n, outCap - n);
            }
            if (n > 0 && out[0] == 0) {
                out[0] = 1 << 3;
            }
            return n;
        }
    }

    static final class Decoder implements PclusterDecoder {
        private final Inflater inflater = new Inflater(true);
        private byte[] in = new byte[0];

        @Override
        public void decode(byte[] src, int off, int len, byte[] dst, int dstOff, int outLen) throws CorruptImageException {
            if (in.length < len + 1) {
                in = new byte[len + 1];
            }
            System.arraycopy(src, off, in, 0, len);
            in[len] = 0; // zlib may look one byte ahead with raw streams
            inflater.reset();
            inflater.setInput(in, 0, len + 1);
            int n = 0;
            try {
                while (!inflater.finished()) {
                    int k = inflater.inflate(dst, dstOff + n, outLen - n);
                    n += k;
                    if (k == 0 && !inflater.finished()) {
                        if (n == outLen) {
                            throw new CorruptImageException("deflate: the stream decodes to more than the extent's " + outLen + " bytes");
                        }
                        throw new CorruptImageException("deflate: the stream ends early, after " + n + " of " + outLen + " bytes");
                    }
                }
            } catch (DataFormatException e) {
                throw new CorruptImageException("deflate: " + e.getMessage());
            }
            if (n != outLen) {
                throw new CorruptImageException("deflate: the stream decodes to " + n + " bytes, the extent has " + outLen);
            }
            if (inflater.getBytesRead() > len) {
                throw new CorruptImageException("deflate: the stream runs past the cluster's " + len + " bytes");
            }
        }
    }
}
