package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.lz4.Lz4Compressor;
import dev.microforge.image.lz4.Lz4Fast;

/**
 * Raw LZ4 blocks (no frame), what SquashFS's lz4 compressor and the kernel's LZ4_decompress_safe use.
 * Compression by {@link Lz4Fast} (level 1) or {@link Lz4Compressor} (HC, levels 2 to 12); decompression here,
 * bounds-checked.
 */
public final class Lz4Codec implements Codec {
    private static final int MIN_MATCH = 4;

    @Override
    public String name() {
        return "lz4";
    }

    @Override
    public int defaultLevel() {
        return 1;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("lz4", level, 1, 12);
    }

    /**
     * Level 1: LZ4's fast compressor ({@link Lz4Fast}, the blocks of liblz4's LZ4_compress_default, as mksquashfs
     * and gensquashfs write them); 2 to 12: LZ4 HC at that level (as {@code mksquashfs -Xhc}).
     */
    @Override
    public Compressor newCompressor(int level, int blockSize) {
        if (level <= 1) {
            Lz4Fast c = new Lz4Fast();
            return (src, off, len, dst) -> len < 2 ? -1 : c.compress(src, off, len, dst, 0, len - 1);
        }
        Lz4Compressor c = Lz4Compressor.hc(level);
        // Lz4Compressor keeps room for the rest of the input as literals after each match, so it only
        // compresses well into a worst-case sized buffer: compress there, keep the result if it is smaller
        byte[] scratch = new byte[Lz4Compressor.maxCompressedLength(blockSize)];
        return (src, off, len, dst) -> {
            if (len < 2) {
                return -1;
            }
            byte[] buf = len <= blockSize ? scratch : new byte[Lz4Compressor.maxCompressedLength(len)];
            int n = c.compress(src, off, len, buf, 0, buf.length);
            if (n <= 0 || n >= len) {
                return -1;
            }
            System.arraycopy(buf, 0, dst, 0, n);
            return n;
        };
    }

    @Override
    public Decompressor newDecompressor() {
        return Lz4Codec::decompress;
    }

    /** LZ4_decompress_safe: every read and write bounds-checked. */
    static int decompress(byte[] src, int off, int len, byte[] dst, int dstOff, int maxLen) throws CorruptImageException {
        int ip = off;
        int end = off + len;
        int op = dstOff;
        int oend = dstOff + maxLen;
        if (len == 0) {
            throw new CorruptImageException("lz4: empty block");
        }
        while (true) {
            if (ip >= end) {
                throw new CorruptImageException("lz4: truncated block");
            }
            int token = src[ip++] & 0xff;
            int litLen = token >>> 4;
            if (litLen == 15) {
                int b;
                do {
                    if (ip >= end) {
                        throw new CorruptImageException("lz4: truncated literal length");
                    }
                    b = src[ip++] & 0xff;
                    litLen += b;
                    if (litLen > maxLen) {
                        throw new CorruptImageException("lz4: literal run beyond the block size");
                    }
                } while (b == 255);
            }
            if (litLen > end - ip || litLen > oend - op) {
                throw new CorruptImageException("lz4: literal run beyond the block");
            }
            System.arraycopy(src, ip, dst, op, litLen);
            ip += litLen;
            op += litLen;
            if (ip == end) {
                return op - dstOff;
            }
            if (end - ip < 2) {
                throw new CorruptImageException("lz4: truncated match offset");
            }
            int distance = (src[ip] & 0xff) | (src[ip + 1] & 0xff) << 8;
            ip += 2;
            if (distance == 0 || distance > op - dstOff) {
                throw new CorruptImageException("lz4: match offset " + distance + " points before the block");
            }
            int matchLen = token & 15;
            if (matchLen == 15) {
                int b;
                do {
                    if (ip >= end) {
                        throw new CorruptImageException("lz4: truncated match length");
                    }
                    b = src[ip++] & 0xff;
                    matchLen += b;
                    if (matchLen > maxLen) {
                        throw new CorruptImageException("lz4: match beyond the block size");
                    }
                } while (b == 255);
            }
            matchLen += MIN_MATCH;
            if (matchLen > oend - op) {
                throw new CorruptImageException("lz4: match beyond the block size");
            }
            int mp = op - distance;
            if (distance >= matchLen) {
                System.arraycopy(dst, mp, dst, op, matchLen);
                op += matchLen;
            } else {
                for (int i = 0; i < matchLen; i++) {
                    dst[op++] = dst[mp++];
                }
            }
        }
    }
}
