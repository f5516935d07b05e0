package dev.microforge.image.lz4;

import static dev.microforge.image.lz4.Lz4Compressor.LAST_LITERALS;
import static dev.microforge.image.lz4.Lz4Compressor.MAX_DISTANCE;
import static dev.microforge.image.lz4.Lz4Compressor.MF_LIMIT;
import static dev.microforge.image.lz4.Lz4Compressor.MIN_MATCH;
import static dev.microforge.image.lz4.RawMemory.getByte;
import static dev.microforge.image.lz4.RawMemory.getInt;
import static dev.microforge.image.lz4.RawMemory.getLong;
import static dev.microforge.image.lz4.RawMemory.putByte;
import static dev.microforge.image.lz4.RawMemory.putInt;
import static dev.microforge.image.lz4.RawMemory.putLong;
import static dev.microforge.image.lz4.RawMemory.putShort;

import java.util.Arrays;
import java.util.Objects;

/**
 * LZ4's fast block compressor, the parse of {@code LZ4_compress_default} (lz4 1.9, acceleration 1) rebuilt from
 * its description: greedy, one hash probe per position, a skip that grows by one byte every 64 failed probes.
 * Blocks of 64 KiB + 11 bytes and more hash 5 bytes into 4096 entries and reject matches further than 65535
 * bytes; shorter ones hash 4 bytes into 8192 entries. So its blocks are byte for byte those of liblz4 (the
 * oracle test compares them with the {@code lz4} tool's), which is what {@code mksquashfs -comp lz4} and
 * {@code gensquashfs -c lz4} write.
 *
 * <p>It is the SquashFS writer's lz4 compressor: about 1.7x the speed of {@link Lz4Compressor#fast()}, whose
 * larger table finds 2% more matches but whose bounds-checked loops cannot keep up with the C tools. The inner
 * loops use unchecked memory access ({@link RawMemory}), so every index is proved in range first: reads stay
 * inside {@code src[off, off+len)}, writes inside {@code dst[dstOff, dstOff+dstCap)}.
 *
 * <p>The output is a pure function of the input range. Instances are not thread-safe: use one per thread.
 */
public final class Lz4Fast {
    private static final int SKIP_TRIGGER = 6;
    /** LZ4_64Klimit: shorter blocks use the 16-bit table (here: the 13-bit hash of 4 bytes). */
    private static final int LIMIT_64K = 65536 + MF_LIMIT - 1;
    private static final int HASH_LOG = 12;
    private static final int HASH_LOG_64K = 13;

    private final int[] table = new int[1 << HASH_LOG_64K];

    /** The compressor of {@link #compress}, and for {@link #compressDestSize} liblz4's tables (4096 and 8192 entries). */
    public Lz4Fast() {
        this(HASH_LOG);
    }

    /**
     * The compressor of {@link #compress}; {@link #compressDestSize} hashes into {@code 2^destSizeHashLog} entries
     * (12 to 16; 12 is liblz4's, whose table for blocks shorter than 64 KiB + 11 bytes has 8192 entries). A larger
     * table finds more matches: on the bench corpus in 4 KiB physical clusters, 14 saves 0.24% of the blocks of
     * liblz4's table.
     */
    public Lz4Fast(int destSizeHashLog) {
        if (destSizeHashLog < HASH_LOG || destSizeHashLog > 16) {
            throw new IllegalArgumentException("destSize hash log must be 12..16, got " + destSizeHashLog);
        }
        fillLog = destSizeHashLog;
        fillLog64K = Math.max(HASH_LOG_64K, destSizeHashLog);
        fillTable = new int[1 << fillLog64K];
    }

    /**
     * Compresses {@code src[off, off+len)} into {@code dst} from {@code dstOff}; returns the block length, or -1
     * when the block would be longer than {@code dstCap} (nothing past {@code dstOff + dstCap} is written either
     * way). Give {@code dstCap = len - 1} to get -1 for every block that would not shrink.
     */
    public int compress(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        Objects.checkFromIndexSize(off, len, src.length);
        Objects.checkFromIndexSize(dstOff, dstCap, dst.length);
        long r;
        if (len < MF_LIMIT + 1) {
            r = ((long) off << 32) | dstOff;
        } else {
            r = parse(src, off, off + len, dst, dstOff, dstOff + dstCap);
        }
        if (r < 0) {
            return -1;
        }
        int op = lastLiterals(src, (int) (r >>> 32), off + len, dst, (int) r, dstOff + dstCap);
        return op < 0 ? -1 : op - dstOff;
    }

    /**
     * Compresses the longest prefix of {@code src[off, off+len)} whose block fits in {@code dstCap} bytes from
     * {@code dstOff}: the parse of liblz4's {@code LZ4_compress_destSize} (what {@code mkfs.erofs -zlz4} calls for
     * each physical cluster), with the same table types as {@link #compress}; when the room is at least
     * {@link #maxCompressedLength}{@code (len)} the block is {@link #compress}'s. The parse stops at the first
     * sequence that would leave too little room for the end-of-block rules, cuts a match that is too long to
     * describe, and fills the rest with literals. Returns {@code (consumed << 32) | produced} (see
     * {@link Lz4Compressor#consumed} and {@link Lz4Compressor#produced}). Needs {@code dstCap >= 1}; nothing past
     * {@code dstOff + dstCap} is written.
     */
    public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        Objects.checkFromIndexSize(off, len, src.length);
        Objects.checkFromIndexSize(dstOff, dstCap, dst.length);
        if (dstCap < 1) {
            throw new IllegalArgumentException("destination capacity must be at least 1");
        }
        if (dstCap >= maxCompressedLength(len)) {
            return ((long) len << 32) | compress(src, off, len, dst, dstOff, dstCap);
        }
        int end = off + len;
        int olimit = dstOff + dstCap;
        long r = len < MF_LIMIT + 1 ? ((long) off << 32) | dstOff : parseFill(src, off, end, dst, dstOff, olimit);
        int anchor = (int) (r >>> 32);
        int op = (int) r;
        int lastRun = end - anchor;
        if (op + lastRun + 1 + (lastRun + 255 - 15) / 255 > olimit) {
            lastRun = olimit - op - 1;
            lastRun -= (lastRun + 256 - 15) / 256;
        }
        if (lastRun >= 15) {
            putByte(dst, op++, 0xF0);
            op = lengthBytes(dst, op, lastRun - 15);
        } else {
            putByte(dst, op++, lastRun << 4);
        }
        System.arraycopy(src, anchor, dst, op, lastRun);
        op += lastRun;
        return ((long) (anchor + lastRun - off) << 32) | (op - dstOff);
    }

    /**
     * The destSize parse's table: entries are {@code position + base}; an entry below {@code base + off} is from
     * an earlier call and stands for {@code off} (liblz4 zeroes its table for each call, and offset 0 is the
     * block's start), so the table needs no clearing between calls.
     */
    private final int[] fillTable;
    private final int fillLog;
    private final int fillLog64K;
    /** Above every entry of {@link #fillTable}. */
    private int fillTop = 1;

    /** {@link #hash} with the destSize table's sizes. */
    private int fillHash(byte[] src, int p, boolean wide) {
        return wide ? (int) (((getLong(src, p) << 24) * 889523592379L) >>> (64 - fillLog))
                : (getInt(src, p) * -1640531535) >>> (32 - fillLog64K);
    }

    /** The entry of {@code fillTable} at {@code h} as a position: {@code off} when it is from an earlier call. */
    private static int position(int[] t, int h, int base, int off) {
        int v = getInt(t, h);
        return v - base >= off ? v - base : off;
    }

    /**
     * The destSize parse (liblz4's fillOutput); returns {@code anchor << 32 | op} where the final literals go.
     * Positions the caller's final-literals step may use: {@code op + 1 <= olimit} always holds.
     */
    private long parseFill(byte[] src, final int off, final int end, byte[] dst, int op, final int olimit) {
        final int[] t = fillTable;
        final boolean wide = end - off >= LIMIT_64K;
        if (fillTop > Integer.MAX_VALUE - (end - off) - 1) {
            Arrays.fill(t, 0);
            fillTop = 1;
        }
        final int b = fillTop - off;
        fillTop = b + end;
        final int mflimitPlusOne = end - MF_LIMIT + 1;
        final int matchLimit = end - LAST_LITERALS;
        int anchor = off;
        int ip = off;
        putInt(t, fillHash(src, ip, wide), ip + b);
        ip++;
        int forwardH = fillHash(src, ip, wide);
        while (true) {
            int match;
            int forwardIp = ip;
            int step = 1;
            int searchMatchNb = 1 << SKIP_TRIGGER;
            do {
                int h = forwardH;
                ip = forwardIp;
                forwardIp += step;
                step = searchMatchNb++ >>> SKIP_TRIGGER;
                if (forwardIp > mflimitPlusOne) {
                    return ((long) anchor << 32) | op;
                }
                match = position(t, h, b, off);
                forwardH = fillHash(src, forwardIp, wide);
                putInt(t, h, ip + b);
            } while (match + MAX_DISTANCE < ip || getInt(src, match) != getInt(src, ip));
            while (ip > anchor && match > off && getByte(src, ip - 1) == getByte(src, match - 1)) {
                ip--;
                match--;
            }
            int litLength = ip - anchor;
            // room for the token, the literals, an offset, a token and the literals that must end the block
            if (op + 1 + (litLength + 240) / 255 + litLength + 2 + 1 + MF_LIMIT - MIN_MATCH > olimit) {
                return ((long) anchor << 32) | op;
            }
            int token = op++;
            if (litLength >= 15) {
                putByte(dst, token, 0xF0);
                op = lengthBytes(dst, op, litLength - 15);
            } else {
                putByte(dst, token, litLength << 4);
            }
            if (litLength <= 16 && op + 16 <= olimit && anchor + 16 <= end) {
                putLong(dst, op, getLong(src, anchor));
                putLong(dst, op + 8, getLong(src, anchor + 8));
            } else {
                System.arraycopy(src, anchor, dst, op, litLength);
            }
            op += litLength;
            while (true) {
                if (op + 2 + 1 + MF_LIMIT - MIN_MATCH > olimit) {
                    // too close to the end for this match: its literals become the final ones
                    return ((long) anchor << 32) | token;
                }
                putShort(dst, op, ip - match);
                op += 2;
                int matchCode = count(src, ip + MIN_MATCH, match + MIN_MATCH, matchLimit);
                ip += MIN_MATCH + matchCode;
                if (op + 1 + LAST_LITERALS + (matchCode + 240) / 255 > olimit) {
                    // too long to describe in the room left: cut to what the length bytes that fit can say
                    int cut = 15 - 1 + (olimit - op - 1 - LAST_LITERALS) * 255;
                    ip -= matchCode - cut;
                    matchCode = cut;
                }
                if (matchCode >= 15) {
                    putByte(dst, token, getByte(dst, token) + 15);
                    op = lengthBytes(dst, op, matchCode - 15);
                } else {
                    putByte(dst, token, getByte(dst, token) + matchCode);
                }
                anchor = ip;
                if (ip >= mflimitPlusOne) {
                    return ((long) anchor << 32) | op;
                }
                putInt(t, fillHash(src, ip - 2, wide), ip - 2 + b);
                int h = fillHash(src, ip, wide);
                match = position(t, h, b, off);
                putInt(t, h, ip + b);
                if (match + MAX_DISTANCE < ip || getInt(src, match) != getInt(src, ip)) {
                    break;
                }
                token = op++;
                putByte(dst, token, 0);
            }
            forwardH = fillHash(src, ++ip, wide);
        }
    }

    /** The largest block for {@code len} input bytes (LZ4_compressBound). */
    public static int maxCompressedLength(int len) {
        return Lz4Compressor.maxCompressedLength(len);
    }

    private static int hash5(long v) {
        return (int) (((v << 24) * 889523592379L) >>> (64 - HASH_LOG));
    }

    private static int hash4(int v) {
        return (v * -1640531535) >>> (32 - HASH_LOG_64K);
    }

    /**
     * The hash of the bytes at {@code p}: for blocks of LIMIT_64K bytes and more ({@code wide}) the 5 bytes of a
     * 64-bit read into 4096 entries, for shorter ones the 4 bytes of a 32-bit read into 8192 entries, as liblz4's
     * two table types.
     */
    private static int hash(byte[] src, int p, boolean wide) {
        return wide ? hash5(getLong(src, p)) : hash4(getInt(src, p));
    }

    /**
     * The greedy parse; returns {@code anchor << 32 | op} of the final literals, or -1. The distance test needs
     * no exception for short blocks: no position there is more than 65535 bytes after the block start.
     */
    private long parse(byte[] src, final int off, final int end, byte[] dst, int op, final int olimit) {
        final int[] t = table;
        final boolean wide = end - off >= LIMIT_64K;
        Arrays.fill(t, 0, wide ? 1 << HASH_LOG : 1 << HASH_LOG_64K, off);
        final int mflimitPlusOne = end - MF_LIMIT + 1;
        final int matchLimit = end - LAST_LITERALS;
        int anchor = off;
        int ip = off;
        putInt(t, hash(src, ip, wide), ip);
        ip++;
        int forwardH = hash(src, ip, wide);
        while (true) {
            // find a match; the next position's hash is computed before this one's candidate is tested
            int match;
            int forwardIp = ip;
            int step = 1;
            int searchMatchNb = 1 << SKIP_TRIGGER;
            do {
                int h = forwardH;
                ip = forwardIp;
                forwardIp += step;
                step = searchMatchNb++ >>> SKIP_TRIGGER;
                if (forwardIp > mflimitPlusOne) {
                    return ((long) anchor << 32) | op;
                }
                match = getInt(t, h);
                forwardH = hash(src, forwardIp, wide);
                putInt(t, h, ip);
            } while (match + MAX_DISTANCE < ip || getInt(src, match) != getInt(src, ip));
            // extend backwards
            while (ip > anchor && match > off && getByte(src, ip - 1) == getByte(src, match - 1)) {
                ip--;
                match--;
            }
            int token = op;
            op = literals(src, anchor, ip - anchor, end, dst, op, olimit);
            if (op < 0) {
                return -1;
            }
            while (true) {
                putShort(dst, op, ip - match);
                int matchCode = count(src, ip + MIN_MATCH, match + MIN_MATCH, matchLimit);
                ip += MIN_MATCH + matchCode;
                op = matchLength(dst, token, op + 2, matchCode, olimit);
                if (op < 0) {
                    return -1;
                }
                anchor = ip;
                if (ip >= mflimitPlusOne) {
                    return ((long) anchor << 32) | op;
                }
                putInt(t, hash(src, ip - 2, wide), ip - 2);
                // a match right here continues without literals
                int h = hash(src, ip, wide);
                match = getInt(t, h);
                putInt(t, h, ip);
                if (match + MAX_DISTANCE < ip || getInt(src, match) != getInt(src, ip)) {
                    break;
                }
                if (op + 3 > olimit) {
                    return -1;
                }
                token = op++;
                putByte(dst, token, 0);
            }
            forwardH = hash(src, ++ip, wide);
        }
    }

    /**
     * Writes the token at {@code op} (literal length only), the length bytes and the literals; returns the
     * position after them, or -1 when they, the 2-byte offset and a final token would pass {@code olimit}
     * (then the whole block would: the check is exact, so -1 means the block is longer than the room).
     */
    private static int literals(byte[] src, int anchor, int litLength, int end, byte[] dst, int op, int olimit) {
        int lengthBytes = litLength >= 15 ? (litLength - 15) / 255 + 1 : 0;
        if (op + 1 + lengthBytes + litLength + 2 + 1 > olimit) {
            return -1;
        }
        if (litLength >= 15) {
            putByte(dst, op++, 0xF0);
            op = lengthBytes(dst, op, litLength - 15);
        } else {
            putByte(dst, op++, litLength << 4);
        }
        if (litLength <= 16 && op + 16 <= olimit && anchor + 16 <= end) {
            // two 8-byte copies beat the arraycopy call; the bytes past litLength are overwritten next or lie
            // past the block's end, inside the caller's ranges either way
            putLong(dst, op, getLong(src, anchor));
            putLong(dst, op + 8, getLong(src, anchor + 8));
        } else {
            System.arraycopy(src, anchor, dst, op, litLength);
        }
        return op + litLength;
    }

    /** Adds the match length code to the token and writes its length bytes from {@code op}; -1 when they do not fit. */
    private static int matchLength(byte[] dst, int token, int op, int matchCode, int olimit) {
        if (matchCode >= 15) {
            if (op + (matchCode - 15) / 255 + 1 > olimit) {
                return -1;
            }
            putByte(dst, token, getByte(dst, token) + 15);
            return lengthBytes(dst, op, matchCode - 15);
        }
        putByte(dst, token, getByte(dst, token) + matchCode);
        return op;
    }

    /** The 255-run continuation bytes of {@code r} (a length minus 15); the caller has checked the room. */
    private static int lengthBytes(byte[] dst, int op, int r) {
        while (r >= 255) {
            putByte(dst, op++, 255);
            r -= 255;
        }
        putByte(dst, op++, r);
        return op;
    }

    /** The final literals {@code [anchor, end)} from {@code op}; returns the end of the block, or -1. */
    private static int lastLiterals(byte[] src, int anchor, int end, byte[] dst, int op, int olimit) {
        int lastRun = end - anchor;
        int lengthBytes = lastRun >= 15 ? (lastRun - 15) / 255 + 1 : 0;
        if (op + 1 + lengthBytes + lastRun > olimit) {
            return -1;
        }
        if (lastRun >= 15) {
            putByte(dst, op++, 0xF0);
            op = lengthBytes(dst, op, lastRun - 15);
        } else {
            putByte(dst, op++, lastRun << 4);
        }
        System.arraycopy(src, anchor, dst, op, lastRun);
        return op + lastRun;
    }

    /** Number of equal bytes at {@code a} and {@code b < a}, comparing no further than {@code limit} (for {@code a}). */
    private static int count(byte[] s, int a, int b, int limit) {
        int start = a;
        while (a < limit - 7) {
            long x = getLong(s, a) ^ getLong(s, b);
            if (x != 0) {
                return a - start + (Long.numberOfTrailingZeros(x) >>> 3);
            }
            a += 8;
            b += 8;
        }
        while (a < limit && getByte(s, a) == getByte(s, b)) {
            a++;
            b++;
        }
        return a - start;
    }
}
