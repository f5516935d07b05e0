package dev.microforge.image.erofs.compress;

import dev.microforge.image.CorruptImageException;

/**
 * Decodes one physical cluster, as the kernel does: {@code src[off, off+len)} is the compressed stream without
 * the zero padding in front ({@link #skipPadding}) and must decode to exactly {@code outLen} bytes. Anything
 * else (a malformed stream, a stream that ends early or would produce more) is a {@link CorruptImageException}
 * whose message names the algorithm and what is wrong. Never writes outside {@code dst[dstOff, dstOff+outLen)},
 * never allocates in proportion to what the input claims beyond the configured dictionary, never loops without
 * consuming input. An instance belongs to one thread.
 */
public interface PclusterDecoder {
    void decode(byte[] src, int off, int len, byte[] dst, int dstOff, int outLen) throws CorruptImageException;

    /**
     * The offset of the stream's first byte: the first non-zero byte among the first {@code window} bytes (the
     * kernel's {@code z_erofs_fixup_insize} looks no further than the rest of the pcluster's first block).
     * Throws when they are all zero.
     */
    static int skipPadding(byte[] src, int off, int len, int window) throws CorruptImageException {
        int end = off + Math.min(len, window);
        for (int i = off; i < end; i++) {
            if (src[i] != 0) {
                return i;
            }
        }
        throw new CorruptImageException("compressed cluster starts with " + (end - off) + " zero bytes");
    }
}
