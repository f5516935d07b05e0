package dev.microforge.image.erofs;

import dev.microforge.image.erofs.compress.DestSizeCompressor;
import dev.microforge.image.erofs.compress.PclusterCodec;
import java.util.Arrays;

/**
 * zstd, lzma (MicroLZMA) and deflate physical clusters: the fixed-output compressors of
 * {@code image.erofs.compress} behind the writer's seam. The configuration record is the codec's for the image's
 * largest pcluster, and the compressor is built consistent with it (its window).
 */
final class CodecPcluster implements PclusterCompressor {
    private final PclusterCodec codec;
    private final DestSizeCompressor compressor;

    CodecPcluster(PclusterCodec codec, int level, int maxPclusterBytes) {
        this.codec = codec;
        this.compressor = codec.newCompressor(level, codec.config(maxPclusterBytes));
    }

    @Override
    public int algorithm() {
        return codec.algorithm().id();
    }

    @Override
    public byte[] config(int maxPclusterBytes) {
        byte[] record = codec.config(maxPclusterBytes).encode();
        return Arrays.copyOfRange(record, 2, record.length);
    }

    @Override
    public int wholeFitLimit(int dstCap) {
        return compressor.wholeFitLimit(dstCap);
    }

    @Override
    public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        long r = compressor.compressDestSize(src, off, len, dst, dstOff, dstCap);
        return PclusterCompressor.result(DestSizeCompressor.consumed(r), DestSizeCompressor.produced(r));
    }
}
