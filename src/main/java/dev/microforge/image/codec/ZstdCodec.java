package dev.microforge.image.codec;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.microforge.image.CorruptImageException;

/** Zstandard frames (zstd-jni, the reference C library). */
public final class ZstdCodec implements Codec {
    @Override
    public String name() {
        return "zstd";
    }

    @Override
    public int defaultLevel() {
        return 15;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("zstd", level, 1, 22);
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        ZstdCompressCtx ctx = new ZstdCompressCtx();
        ctx.setLevel(level);
        ctx.setChecksum(false);
        return (src, off, len, dst) -> {
            if (len < 2) {
                return -1;
            }
            try {
                int n = ctx.compressByteArray(dst, 0, len - 1, src, off, len);
                return n < len ? n : -1;
            } catch (ZstdException e) {
                return -1; // does not fit in len - 1 bytes: store raw
            }
        };
    }

    @Override
    public Decompressor newDecompressor() {
        ZstdDecompressCtx ctx = new ZstdDecompressCtx();
        return (src, off, len, dst, dstOff, maxLen) -> {
            try {
                return ctx.decompressByteArray(dst, dstOff, maxLen, src, off, len);
            } catch (ZstdException | ArrayIndexOutOfBoundsException e) {
                throw new CorruptImageException("zstd: " + e.getMessage());
            }
        };
    }
}
