package dev.microforge.image.erofs.compress;

import dev.microforge.image.lz4.Lz4Compressor;

/**
 * A fixed-output ("destination size") compressor: compresses the longest prefix of its input it can fit in a
 * physical cluster of {@code dstCap} bytes, as EROFS' fixed-output compression needs. An instance keeps state
 * between calls (scratch buffers, a size estimate) and belongs to one thread; the bytes it produces for a call
 * depend only on that call's arguments and the instance's level and configuration, never on earlier calls.
 */
public interface DestSizeCompressor {
    /** The algorithm, as the map header's {@code h_algorithmtype} and the superblock's bitmap name it. */
    ErofsAlgorithm algorithm();

    /**
     * Compresses a prefix of {@code src[off, off+len)} into {@code dst[dstOff, dstOff+dstCap)} as one stream the
     * kernel decodes on its own (its first byte is never zero, so EROFS' zero padding in front finds its start).
     * Returns {@code (consumed << 32) | produced} ({@link #consumed}, {@link #produced}); {@code produced <=
     * dstCap} always. Consumes 0 bytes only when not even one byte fits; the writer then stores the data raw.
     */
    long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap);

    /**
     * Inputs of at most this many bytes are always consumed whole within {@code dstCap} bytes, whatever their
     * content (the codec's worst-case expansion); 0 for no promise.
     */
    default int wholeFitLimit(int dstCap) {
        return 0;
    }

    static int consumed(long result) {
        return (int) (result >>> 32);
    }

    static int produced(long result) {
        return (int) result;
    }

    static long result(int consumed, int produced) {
        return ((long) consumed << 32) | (produced & 0xFFFFFFFFL);
    }

    /** The LZ4 compressor (fast or HC) behind this interface; it fills the capacity in one parse. */
    static DestSizeCompressor lz4(Lz4Compressor lz4) {
        return new DestSizeCompressor() {
            @Override
            public ErofsAlgorithm algorithm() {
                return ErofsAlgorithm.LZ4;
            }

            @Override
            public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
                long r = lz4.compressDestSize(src, off, len, dst, dstOff, dstCap);
                return result(Lz4Compressor.consumed(r), Lz4Compressor.produced(r));
            }
        };
    }
}
