package dev.microforge.image.lz4;

import java.io.IOException;

/**
 * Decoder of the LZ4 block format with full bounds checking: a malformed block raises an exception, it never
 * reads or writes outside the given ranges.
 */
public final class Lz4Decompressor {
    private Lz4Decompressor() {}

    /** A malformed LZ4 block. */
    public static final class Lz4FormatException extends IOException {
        private static final long serialVersionUID = 1L;

        Lz4FormatException(String message) {
            super(message);
        }
    }

    /**
     * Decodes the block {@code src[off, off+len)} into {@code dst[dstOff, dstOff+dstLen)}. The block must consume
     * exactly its input and produce exactly {@code dstLen} bytes.
     */
    public static void decompress(byte[] src, int off, int len, byte[] dst, int dstOff, int dstLen) throws Lz4FormatException {
        int produced = decompressUpTo(src, off, len, dst, dstOff, dstLen);
        if (produced != dstLen) {
            throw new Lz4FormatException("lz4 block decodes to " + produced + " bytes, expected " + dstLen);
        }
    }

    /**
     * Decodes the block {@code src[off, off+len)} (all of it) into {@code dst} from {@code dstOff}, at most
     * {@code dstCap} bytes; returns the number of bytes produced.
     */
    public static int decompressUpTo(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) throws Lz4FormatException {
        if (off < 0 || len < 0 || off + len > src.length || dstOff < 0 || dstCap < 0 || dstOff + dstCap > dst.length) {
            throw new IndexOutOfBoundsException();
        }
        int ip = off;
        final int iend = off + len;
        int op = dstOff;
        final int oend = dstOff + dstCap;
        if (len == 0) {
            throw new Lz4FormatException("empty lz4 block");
        }
        while (true) {
            if (ip >= iend) {
                throw new Lz4FormatException("lz4 block ends after a match (the last sequence must be literals)");
            }
            int token = src[ip++] & 0xFF;
            int litLen = token >>> 4;
            if (litLen == 15) {
                int b;
                do {
                    if (ip >= iend) {
                        throw new Lz4FormatException("lz4 literal length runs past the end of the block");
                    }
                    b = src[ip++] & 0xFF;
                    litLen += b;
                    if (litLen < 0) {
                        throw new Lz4FormatException("lz4 literal length overflows");
                    }
                } while (b == 255);
            }
            if (litLen > iend - ip) {
                throw new Lz4FormatException("lz4 literals run past the end of the block");
            }
            if (litLen > oend - op) {
                throw new Lz4FormatException("lz4 literals run past the end of the output");
            }
            System.arraycopy(src, ip, dst, op, litLen);
            ip += litLen;
            op += litLen;
            if (ip == iend) {
                return op - dstOff; // last sequence: literals only
            }
            if (iend - ip < 2) {
                throw new Lz4FormatException("lz4 match offset truncated");
            }
            int offset = (src[ip] & 0xFF) | (src[ip + 1] & 0xFF) << 8;
            ip += 2;
            if (offset == 0 || offset > op - dstOff) {
                throw new Lz4FormatException("lz4 match offset " + offset + " points before the start of the output");
            }
            int matchLen = token & 15;
            if (matchLen == 15) {
                int b;
                do {
                    if (ip >= iend) {
                        throw new Lz4FormatException("lz4 match length runs past the end of the block");
                    }
                    b = src[ip++] & 0xFF;
                    matchLen += b;
                    if (matchLen < 0) {
                        throw new Lz4FormatException("lz4 match length overflows");
                    }
                } while (b == 255);
            }
            matchLen += Lz4Compressor.MIN_MATCH;
            if (matchLen > oend - op) {
                throw new Lz4FormatException("lz4 match runs past the end of the output");
            }
            int from = op - offset;
            if (offset >= matchLen) {
                System.arraycopy(dst, from, dst, op, matchLen);
                op += matchLen;
            } else {
                for (int i = 0; i < matchLen; i++) {
                    dst[op++] = dst[from++];
                }
            }
        }
    }
}
