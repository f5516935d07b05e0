package dev.microforge.image.erofs;

/**
 * One EROFS compression algorithm as the writer uses it: fixed-output compression of physical clusters. An
 * instance is used by one thread at a time (the writer keeps one per thread, from {@link #forOptions}).
 *
 * <p>To add an algorithm: implement this interface (its id, its configuration record, compression of the longest
 * prefix that fits in a given output size), add a {@link ErofsWriter.Compression} constant and map it in
 * {@link #forOptions}. The writer takes the superblock's available-algorithms bitmap and configuration record and
 * every map header's algorithm id from the compressor in use.
 */
interface PclusterCompressor {
    /** The algorithm id (Z_EROFS_COMPRESSION_*): the map header's h_algorithmtype, the bit in available_compr_algs. */
    int algorithm();

    /**
     * The algorithm's record in the superblock's compression configuration area (without its le16 size), for
     * physical clusters of at most {@code maxPclusterBytes}.
     */
    byte[] config(int maxPclusterBytes);

    /**
     * Compresses the longest prefix of {@code src[off, off+len)} whose compressed form fits in {@code dstCap} bytes
     * at {@code dst[dstOff]}, as one independently decodable unit. Returns {@link #result(int, int)} of the bytes
     * consumed and produced; with {@code len > 0} and {@code dstCap} of at least one block, at least one byte is
     * consumed.
     */
    long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap);

    /**
     * Inputs of at most this many bytes are always consumed whole within {@code dstCap} bytes (whatever their
     * content), so the writer need not compress a file's remainder of that size to know that it fits (with
     * fragments). 0: no such promise (lz4, whose decisions stay those of a compression).
     */
    default int wholeFitLimit(int dstCap) {
        return 0;
    }

    static long result(int consumed, int produced) {
        return (long) consumed << 32 | (produced & 0xFFFFFFFFL);
    }

    static int consumed(long result) {
        return (int) (result >>> 32);
    }

    static int produced(long result) {
        return (int) result;
    }

    /** A new compressor for compressed images with these options. */
    static PclusterCompressor forOptions(ErofsWriter.Options o) {
        return switch (o.compression()) {
            case LZ4 -> Lz4Pcluster.fast();
            case LZ4HC -> Lz4Pcluster.hc(o.level());
            case ZSTD, LZMA, DEFLATE -> new CodecPcluster(o.compression().codec(), o.level(), o.pclusterSize());
            case NONE -> throw new IllegalArgumentException("no compressor for an uncompressed image");
        };
    }
}
