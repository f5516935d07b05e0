package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** zlib streams (what SquashFS calls "gzip"): java.util.zip, i.e. the system zlib. Window 15, default strategy. */
public final class GzipCodec implements Codec {
    @Override
    public String name() {
        return "gzip";
    }

    @Override
    public int defaultLevel() {
        return 9;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("gzip", level, 1, 9);
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        Deflater d = new Deflater(level, false);
        return (src, off, len, dst) -> {
            d.reset();
            d.setInput(src, off, len);
            d.finish();
            int n = 0;
            int limit = len - 1;
            while (!d.finished() && n < limit) {
                n += d.deflate(dst, n, limit - n);
            }
            return d.finished() ? n : -1;
        };
    }

    @Override
    public Decompressor newDecompressor() {
        Inflater inf = new Inflater(false);
        return (src, off, len, dst, dstOff, maxLen) -> {
            inf.reset();
            inf.setInput(src, off, len);
            int n = 0;
            try {
                while (!inf.finished()) {
                    int k = inf.inflate(dst, dstOff + n, maxLen - n);
                    n += k;
                    if (k == 0) {
                        if (inf.finished()) {
                            break;
                        }
                        if (n == maxLen) {
                            throw new CorruptImageException("gzip: block expands beyond " + maxLen + " bytes");
                        }
                        if (inf.needsInput() || inf.needsDictionary()) {
                            throw new CorruptImageException("gzip: truncated block");
                        }
                    }
                }
            } catch (DataFormatException e) {
                throw new CorruptImageException("gzip: " + e.getMessage());
            }
            return n;
        };
    }
}
