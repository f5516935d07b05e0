package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;

/**
 * Raw LZ4 blocks (no frame), what SquashFS's lz4 compressor and the kernel's LZ4_decompress_safe use.
 * The compressor is LZ4's fast greedy algorithm (hash of 4-byte sequences, 64 KiB window, acceleration 1),
 * written here in Java; it respects the format's end-of-block rules (the last 5 bytes are literals, the
 * last match starts at least 12 bytes before the end).
 */
public final class Lz4Codec implements Codec {
    private static final int MIN_MATCH = 4;
    private static final int LAST_LITERALS = 5;
    private static final int MF_LIMIT = 12;
    private static final int HASH_LOG = 14;
    private static final int MAX_DISTANCE = 65535;
    private static final int SKIP_TRIGGER = 6;

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
        Codec.checkRange("lz4", level, 1, 1);
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        int[] table = new int[1 << HASH_LOG];
        return (src, off, len, dst) -> {
            int n = compress(src, off, len, dst, len - 1, table);
            return n >= 0 && n < len ? n : -1;
        };
    }

    @Override
    public Decompressor newDecompressor() {
        return Lz4Codec::decompress;
    }

    private static int read32(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    private static int hash(int v) {
        return (v * -1640531535) >>> (32 - HASH_LOG);
    }

    /** Compresses into dst[0, limit); returns the length or -1 when it does not fit. */
    static int compress(byte[] src, int off, int len, byte[] dst, int limit, int[] table) {
        int end = off + len;
        int op = 0;
        int anchor = off;
        if (len >= MF_LIMIT + 1) {
            java.util.Arrays.fill(table, -1);
            int mfLimit = end - MF_LIMIT;
            int matchLimit = end - LAST_LITERALS;
            int ip = off;
            table[hash(read32(src, ip))] = ip;
            ip++;
            outer:
            while (true) {
                // find a match
                int ref;
                int searchMatchNb = 1 << SKIP_TRIGGER;
                int forward = ip;
                do {
                    ip = forward;
                    int step = searchMatchNb++ >>> SKIP_TRIGGER;
                    forward = ip + step;
                    if (forward > mfLimit) {
                        break outer;
                    }
                    int h = hash(read32(src, ip));
                    ref = table[h];
                    table[h] = ip;
                } while (ref < 0 || ip - ref > MAX_DISTANCE || read32(src, ref) != read32(src, ip));
                // extend backwards
                while (ip > anchor && ref > off && src[ip - 1] == src[ref - 1]) {
                    ip--;
                    ref--;
                }
                while (true) {
                    // literals
                    int litLen = ip - anchor;
                    int tokenPos = op;
                    int need = 1 + litLen + litLen / 255 + 1 + 2 + LAST_LITERALS;
                    if (op + need > limit) {
                        return -1;
                    }
                    op++;
                    if (litLen >= 15) {
                        dst[tokenPos] = (byte) (15 << 4);
                        int l = litLen - 15;
                        while (l >= 255) {
                            dst[op++] = (byte) 255;
                            l -= 255;
                        }
                        dst[op++] = (byte) l;
                    } else {
                        dst[tokenPos] = (byte) (litLen << 4);
                    }
                    System.arraycopy(src, anchor, dst, op, litLen);
                    op += litLen;
                    // offset
                    int distance = ip - ref;
                    dst[op++] = (byte) distance;
                    dst[op++] = (byte) (distance >>> 8);
                    // match length
                    int mp = ip + MIN_MATCH;
                    int rp = ref + MIN_MATCH;
                    while (mp < matchLimit && src[mp] == src[rp]) {
                        mp++;
                        rp++;
                    }
                    int matchLen = mp - ip - MIN_MATCH;
                    if (op + 1 + matchLen / 255 + LAST_LITERALS > limit) {
                        return -1;
                    }
                    if (matchLen >= 15) {
                        dst[tokenPos] |= 15;
                        int l = matchLen - 15;
                        while (l >= 255) {
                            dst[op++] = (byte) 255;
                            l -= 255;
                        }
                        dst[op++] = (byte) l;
                    } else {
                        dst[tokenPos] |= (byte) matchLen;
                    }
                    ip = mp;
                    anchor = ip;
                    if (ip > mfLimit) {
                        break outer;
                    }
                    table[hash(read32(src, ip - 2))] = ip - 2;
                    // an immediate next match?
                    int h = hash(read32(src, ip));
                    ref = table[h];
                    table[h] = ip;
                    if (ref >= 0 && ip - ref <= MAX_DISTANCE && read32(src, ref) == read32(src, ip)) {
                        continue;
                    }
                    ip++;
                    break;
                }
            }
        }
        // last literals
        int litLen = end - anchor;
        if (op + 1 + litLen + (litLen + 255 - 15) / 255 > limit) {
            return -1;
        }
        if (litLen >= 15) {
            dst[op++] = (byte) (15 << 4);
            int l = litLen - 15;
            while (l >= 255) {
                dst[op++] = (byte) 255;
                l -= 255;
            }
            dst[op++] = (byte) l;
        } else {
            dst[op++] = (byte) (litLen << 4);
        }
        System.arraycopy(src, anchor, dst, op, litLen);
        op += litLen;
        return op;
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
