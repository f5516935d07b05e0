package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;

/** No compression: every block is stored raw. */
public final class NoneCodec implements Codec {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public int defaultLevel() {
        return 0;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("none", level, 0, 0);
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        return (src, off, len, dst) -> -1;
    }

    @Override
    public Decompressor newDecompressor() {
        return (src, off, len, dst, dstOff, maxLen) -> {
            throw new CorruptImageException("compressed block in an image written without compression");
        };
    }
}
