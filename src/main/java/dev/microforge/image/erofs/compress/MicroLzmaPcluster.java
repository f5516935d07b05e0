package dev.microforge.image.erofs.compress;

import dev.microforge.image.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.tukaani.xz.ArrayCache;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.LZMAInputStream;
import org.tukaani.xz.LZMAOutputStream;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.lz.LZEncoder;
import org.tukaani.xz.lzma.LZMAEncoder;
import org.tukaani.xz.rangecoder.RangeEncoderToStream;

/**
 * MicroLZMA physical clusters (xz-java's raw LZMA1 encoder and decoder). MicroLZMA, as xz's
 * {@code microlzma_encoder.c} and the kernel's {@code xz_dec_microlzma_*} define it, is a raw LZMA1 stream
 * without end-of-payload marker whose first byte (always 0x00 in LZMA1: the range coder's initial cache byte) is
 * replaced by the bitwise negation of the properties byte {@code (pb * 5 + lp) * 9 + lc}; the decoder is told the
 * compressed size (EROFS: the pcluster minus its zero padding) and the uncompressed size (the extent's length).
 * The negated properties byte is never zero (properties are at most 224), so EROFS' zero padding finds the start.
 * The kernel (5.16+, {@code decompressor_lzma.c}) needs lc + lp at most 4 (xz presets: lc 3, lp 0, pb 2) and
 * matches no further back than the configured dictionary, which is the encoder's dictionary size.
 */
final class MicroLzmaPcluster {
    private MicroLzmaPcluster() {
    }

    static int props(int lc, int lp, int pb) {
        return (pb * 5 + lp) * 9 + lc;
    }

    static final class Compressor extends FitSearch {
        private final LZMA2Options options;
        private final int props;
        private final ArrayCache cache = new BasicArrayCache();
        private final Sink sink = new Sink();

        Compressor(int level, AlgorithmConfig cfg) {
            super(3.5, 8);
            try {
                options = new LZMA2Options(level);
                options.setDictSize(cfg.window());
            } catch (UnsupportedOptionsException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            props = props(options.getLc(), options.getLp(), options.getPb());
        }

        @Override
        public ErofsAlgorithm algorithm() {
            return ErofsAlgorithm.LZMA;
        }

        /** LZMA1 expands random data by well under 1% (literals near 8 bits each), plus the 5-byte flush. */
        @Override
        public int wholeFitLimit(int dstCap) {
            return Math.max(0, dstCap - dstCap / 32 - 64);
        }

        /**
         * Encodes the whole input and stops where the output would pass {@code cap} minus the range coder's
         * flush: the symbols encoded by then give the prefix to try (their count, as the encoder kept it), which
         * usually fits within the tolerance, so a pcluster costs about two compressions. When the whole input
         * fits, this is the answer.
         */
        @Override
        long probe(byte[] src, int off, int len, byte[] out, int cap) {
            sink.reset(out, Math.max(6, cap - 6));
            RangeEncoderToStream rc = new RangeEncoderToStream(sink);
            LZMAEncoder enc = LZMAEncoder.getInstance(rc, options.getLc(), options.getLp(), options.getPb(), options.getMode(),
                    options.getDictSize(), 0, options.getNiceLen(), options.getMatchFinder(), options.getDepthLimit(), cache);
            LZEncoder lz = enc.getLZEncoder();
            try {
                for (int p = off, end = off + len; ; ) {
                    p += lz.fillWindow(src, p, end - p);
                    if (p == end) {
                        lz.setFinishing();
                        enc.encodeForLZMA1();
                        break;
                    }
                    enc.encodeForLZMA1();
                }
                rc.finish();
                if (sink.n > cap || out[0] != 0) {
                    return enc.getUncompressedSize();
                }
                out[0] = (byte) ~props;
                return -2L - sink.n;
            } catch (Overflow e) {
                return enc.getUncompressedSize();
            } catch (IOException e) {
                throw new IllegalStateException("lzma: " + e.getMessage(), e);
            } finally {
                enc.putArraysToCache(cache);
            }
        }

        @Override
        int trial(byte[] src, int off, int len, byte[] out, int outCap) {
            sink.reset(out, outCap);
            try {
                LZMAOutputStream lzma = new LZMAOutputStream(sink, options, false, cache);
                lzma.write(src, off, len);
                lzma.finish();
            } catch (Overflow e) {
                return -1;
            } catch (IOException e) {
                throw new IllegalStateException("lzma: " + e.getMessage(), e);
            }
            if (sink.n < 5 || out[0] != 0) {
                throw new IllegalStateException("lzma: the raw stream does not start with the range coder's zero byte");
            }
            out[0] = (byte) ~props;
            return sink.n;
        }
    }

    /** Thrown by {@link Sink} when the stream outgrows the trial's buffer; no stack trace. */
    private static final class Overflow extends IOException {
        private static final long serialVersionUID = 1L;

        Overflow() {
            super("output limit");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    private static final class Sink extends OutputStream {
        private byte[] out;
        private int cap;
        private int n;

        void reset(byte[] out, int cap) {
            this.out = out;
            this.cap = cap;
            this.n = 0;
        }

        @Override
        public void write(int b) throws IOException {
            if (n >= cap) {
                throw new Overflow();
            }
            out[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > cap - n) {
                throw new Overflow();
            }
            System.arraycopy(b, off, out, n, len);
            n += len;
        }
    }

    static final class Decoder implements PclusterDecoder {
        private final int dictSize;
        private byte[] in = new byte[0];

        Decoder(AlgorithmConfig cfg) {
            this.dictSize = cfg.window();
        }

        @Override
        public void decode(byte[] src, int off, int len, byte[] dst, int dstOff, int outLen) throws CorruptImageException {
            if (len < 5) {
                throw new CorruptImageException("lzma: stream of " + len + " bytes is shorter than the range coder's start");
            }
            int p = ~src[off] & 0xFF;
            int lc = p % 9;
            int lp = p / 9 % 5;
            int pb = p / 45;
            if (p >= 9 * 5 * 5 || lc + lp > 4) {
                throw new CorruptImageException("lzma: properties byte " + p + " (lc " + lc + ", lp " + lp + ", pb " + pb + ") is not MicroLZMA's");
            }
            if (in.length < len) {
                in = new byte[len];
            }
            System.arraycopy(src, off, in, 0, len);
            in[0] = 0;
            ByteArrayInputStream bin = new ByteArrayInputStream(in, 0, len);
            try (LZMAInputStream lzma = new LZMAInputStream(bin, outLen, lc, lp, pb, dictSize, null)) {
                int n = 0;
                while (n < outLen) {
                    int k = lzma.read(dst, dstOff + n, outLen - n);
                    if (k < 0) {
                        throw new CorruptImageException("lzma: the stream ends after " + n + " of " + outLen + " bytes");
                    }
                    n += k;
                }
                if (lzma.read() != -1) {
                    throw new CorruptImageException("lzma: the stream decodes to more than " + outLen + " bytes");
                }
            } catch (CorruptImageException e) {
                throw e;
            } catch (IOException e) {
                throw new CorruptImageException("lzma: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
            }
            if (bin.available() != 0) {
                throw new CorruptImageException("lzma: " + bin.available() + " bytes after the end of the stream");
            }
        }
    }
}
