package dev.microforge.image.lz4;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An LZ4 block compressor (the raw block format, no frame), written for microforge.
 *
 * <p>Two parsers: {@link #fast()} (greedy, one hash probe per position, like LZ4_compress_default) and
 * {@link #hc(int)} (hash chains with lazy matching; levels 1 to 12 as lz4hc, the level sets how many chain
 * links are searched). Two modes: {@link #compress} compresses all of its input or reports that it does not
 * fit; {@link #compressDestSize} compresses the longest prefix of its input whose block fits in a given
 * number of output bytes (like LZ4_compress_destSize; EROFS fills fixed-size physical clusters with it).
 *
 * <p>Every block obeys the LZ4 end-of-block rules (the last 5 bytes are literals, the last match starts at
 * least 12 bytes before the end), so the reference decoders (the kernel's LZ4_decompress_safe) accept it.
 * The output is a pure function of the input and the settings. Instances keep their tables between calls
 * (no per-call clearing cost) and are not thread-safe: use one per thread.
 */
public final class Lz4Compressor {
    static final int MIN_MATCH = 4;
    static final int MF_LIMIT = 12;
    static final int LAST_LITERALS = 5;
    static final int MAX_DISTANCE = 65535;
    private static final int FAST_HASH_BITS = 14;
    private static final int HC_HASH_BITS = 15;
    private static final int EMPTY = Integer.MIN_VALUE / 2;

    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final int level;
    private final int maxAttempts;
    private final int[] hashTable;
    private final char[] chainTable;
    /** Table entries store {@code position + base}; everything stored before the current call is below {@code base + start}. */
    private int base;
    /** Above every value stored so far. */
    private int storedTop;

    // emitter state of the current call
    private byte[] out;
    private int op;
    private int oLimit;
    private boolean fill;

    private Lz4Compressor(int level) {
        this.level = level;
        if (level == 0) {
            maxAttempts = 0;
            hashTable = new int[1 << FAST_HASH_BITS];
            chainTable = null;
        } else {
            maxAttempts = level >= 10 ? 1 << Math.min(level + 1, 12) : 1 << (level - 1);
            hashTable = new int[1 << HC_HASH_BITS];
            chainTable = new char[1 << 16];
        }
        Arrays.fill(hashTable, EMPTY);
    }

    /** The fast (greedy) compressor. */
    public static Lz4Compressor fast() {
        return new Lz4Compressor(0);
    }

    /** The high-compression compressor; {@code level} 1..12 (9 is lz4hc's default). */
    public static Lz4Compressor hc(int level) {
        if (level < 1 || level > 12) {
            throw new IllegalArgumentException("lz4hc level must be 1..12, got " + level);
        }
        return new Lz4Compressor(level);
    }

    /** 0 for the fast compressor, else the HC level. */
    public int level() {
        return level;
    }

    /** The largest block {@link #compress} can produce for {@code len} input bytes. */
    public static int maxCompressedLength(int len) {
        return len + len / 255 + 16;
    }

    /**
     * Compresses {@code src[off, off+len)} into {@code dst} from {@code dstOff}, at most {@code dstCap} bytes.
     * Returns the block length, or -1 when the block would not fit.
     */
    public int compress(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        checkRange(src, off, len, dst, dstOff, dstCap);
        long r = run(src, off, off + len, dst, dstOff, dstCap, false);
        return r < 0 ? -1 : (int) r;
    }

    /**
     * Compresses the longest prefix of {@code src[off, off+len)} whose block fits in {@code dstCap} bytes.
     * Returns {@code (consumed << 32) | produced}; see {@link #consumed(long)} and {@link #produced(long)}.
     * Needs {@code dstCap >= 1}; with {@code len > 0} at least one input byte is consumed when {@code dstCap >= 2}.
     */
    public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        checkRange(src, off, len, dst, dstOff, dstCap);
        if (dstCap < 1) {
            throw new IllegalArgumentException("destination capacity must be at least 1");
        }
        return run(src, off, off + len, dst, dstOff, dstCap, true);
    }

    public static int consumed(long result) {
        return (int) (result >>> 32);
    }

    public static int produced(long result) {
        return (int) result;
    }

    private static void checkRange(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        if (off < 0 || len < 0 || off + len > src.length || off + len < 0) {
            throw new IndexOutOfBoundsException("source range");
        }
        if (dstOff < 0 || dstCap < 0 || dstOff + dstCap > dst.length || dstOff + dstCap < 0) {
            throw new IndexOutOfBoundsException("destination range");
        }
    }

    private long run(byte[] src, int start, int end, byte[] dst, int dstOff, int dstCap, boolean fillMode) {
        out = dst;
        op = dstOff;
        oLimit = dstOff + dstCap;
        fill = fillMode;
        // make every stored position of earlier calls invalid (they are all below base + start)
        // base is chosen so that this call's stored values (position + base) lie above all earlier ones
        base = storedTop - start;
        if ((long) storedTop + (end - start) + 2L * (MAX_DISTANCE + 1) >= Integer.MAX_VALUE) {
            Arrays.fill(hashTable, EMPTY);
            storedTop = 0;
            base = -start;
        }
        int anchor;
        if (end - start < MF_LIMIT + 1) {
            anchor = start;
        } else if (level == 0) {
            anchor = parseFast(src, start, end);
        } else {
            anchor = parseHc(src, start, end);
        }
        storedTop = base + end + MAX_DISTANCE + 1;
        // last literals
        int lastRun = end - anchor;
        int avail = oLimit - op;
        if (fill) {
            lastRun = Math.min(lastRun, maxLiterals(avail));
        } else if (literalCost(lastRun) > avail) {
            out = null;
            return -1;
        }
        writeLiterals(src, anchor, lastRun);
        int produced = op - dstOff;
        out = null;
        return ((long) (anchor + lastRun - start) << 32) | produced;
    }

    /** Token plus length bytes plus the literals themselves. */
    private static int literalCost(int litLen) {
        return 1 + litLen + (litLen >= 15 ? (litLen - 15) / 255 + 1 : 0);
    }

    /** The most literals a final sequence can carry in {@code avail} bytes. */
    static int maxLiterals(int avail) {
        if (avail <= 0) {
            return 0;
        }
        if (avail - 1 < 15) {
            return avail - 1;
        }
        int l = avail - 2 - (avail - 17) / 256;
        while (literalCost(l) > avail) {
            l--;
        }
        while (literalCost(l + 1) <= avail) {
            l++;
        }
        return l;
    }

    private void writeLiterals(byte[] src, int anchor, int litLen) {
        byte[] o = out;
        int p = op;
        if (litLen >= 15) {
            o[p++] = (byte) 0xF0;
            int r = litLen - 15;
            while (r >= 255) {
                o[p++] = (byte) 255;
                r -= 255;
            }
            o[p++] = (byte) r;
        } else {
            o[p++] = (byte) (litLen << 4);
        }
        System.arraycopy(src, anchor, o, p, litLen);
        op = p + litLen;
    }

    /**
     * Emits literals {@code [anchor, anchor+litLen)} and a match; returns false (emitting nothing) when it
     * would not leave room for the final literals.
     */
    private boolean emit(byte[] src, int anchor, int litLen, int offset, int matchLen, int end) {
        int ml = matchLen - MIN_MATCH;
        int cost = 1 + litLen + (litLen >= 15 ? (litLen - 15) / 255 + 1 : 0) + 2 + (ml >= 15 ? (ml - 15) / 255 + 1 : 0);
        int rest = end - (anchor + litLen + matchLen);
        int reserve = fill ? 1 + Math.min(8, rest) : literalCost(rest);
        if (op + cost + reserve > oLimit) {
            return false;
        }
        byte[] o = out;
        int p = op;
        int tokenPos = p++;
        int token;
        if (litLen >= 15) {
            token = 0xF0;
            int r = litLen - 15;
            while (r >= 255) {
                o[p++] = (byte) 255;
                r -= 255;
            }
            o[p++] = (byte) r;
        } else {
            token = litLen << 4;
        }
        System.arraycopy(src, anchor, o, p, litLen);
        p += litLen;
        o[p++] = (byte) offset;
        o[p++] = (byte) (offset >>> 8);
        if (ml >= 15) {
            token |= 15;
            int r = ml - 15;
            while (r >= 255) {
                o[p++] = (byte) 255;
                r -= 255;
            }
            o[p++] = (byte) r;
        } else {
            token |= ml;
        }
        o[tokenPos] = (byte) token;
        op = p;
        return true;
    }

    /** Number of equal bytes at {@code a} and {@code b}, comparing no further than {@code limit} (for {@code a}). */
    static int commonLength(byte[] s, int a, int b, int limit) {
        int startA = a;
        while (a + 8 <= limit) {
            long x = (long) LONG.get(s, a) ^ (long) LONG.get(s, b);
            if (x != 0) {
                return a - startA + (Long.numberOfTrailingZeros(x) >>> 3);
            }
            a += 8;
            b += 8;
        }
        while (a < limit && s[a] == s[b]) {
            a++;
            b++;
        }
        return a - startA;
    }

    private static int hashFast(int v) {
        return (v * -1640531535) >>> (32 - FAST_HASH_BITS);
    }

    private static int hashHc(int v) {
        return (v * -1640531535) >>> (32 - HC_HASH_BITS);
    }

    /** Greedy parse; returns the anchor where the final literals start. */
    private int parseFast(byte[] src, int start, int end) {
        final int[] table = hashTable;
        final int b = base;
        final int mflimit = end - MF_LIMIT;
        final int matchLimit = end - LAST_LITERALS;
        final int low = b + start;
        int anchor = start;
        int ip = start;
        table[hashFast((int) INT.get(src, ip))] = ip + b;
        ip++;
        while (true) {
            // find a match
            int ref;
            int searchCount = 1 << 6;
            while (true) {
                if (ip > mflimit) {
                    return anchor;
                }
                int v = (int) INT.get(src, ip);
                int h = hashFast(v);
                int stored = table[h];
                table[h] = ip + b;
                if (stored >= low && ip + b - stored <= MAX_DISTANCE && (int) INT.get(src, stored - b) == v) {
                    ref = stored - b;
                    break;
                }
                ip += searchCount++ >>> 6;
            }
            // extend backwards
            while (ip > anchor && ref > start && src[ip - 1] == src[ref - 1]) {
                ip--;
                ref--;
            }
            int matchLen = MIN_MATCH + commonLength(src, ip + MIN_MATCH, ref + MIN_MATCH, matchLimit);
            if (!emit(src, anchor, ip - anchor, ip - ref, matchLen, end)) {
                return anchor;
            }
            ip += matchLen;
            anchor = ip;
            if (ip > mflimit) {
                return anchor;
            }
            table[hashFast((int) INT.get(src, ip - 2))] = ip - 2 + b;
        }
    }

    // --- HC ---

    private int nextToUpdate;
    private int matchRef;
    private int matchStart;

    private void insert(byte[] src, int upTo) {
        final int[] head = hashTable;
        final char[] chain = chainTable;
        final int b = base;
        for (int p = nextToUpdate; p < upTo; p++) {
            int h = hashHc((int) INT.get(src, p));
            int delta = p + b - head[h];
            if (delta > MAX_DISTANCE || delta < 0) {
                delta = MAX_DISTANCE;
            }
            chain[p & 0xFFFF] = (char) delta;
            head[h] = p + b;
        }
        if (upTo > nextToUpdate) {
            nextToUpdate = upTo;
        }
    }

    /**
     * Longest match for position {@code ip} (inserting positions up to it), allowed to extend backwards down to
     * {@code lowLimit}; sets {@link #matchRef} and {@link #matchStart}; returns the length (0 when none, or when
     * none is longer than {@code minLen}).
     */
    private int findMatch(byte[] src, int start, int ip, int lowLimit, int matchLimit, int minLen) {
        insert(src, ip);
        final int b = base;
        final char[] chain = chainTable;
        int best = minLen;
        if (ip + best >= matchLimit) {
            return 0;
        }
        int v = (int) INT.get(src, ip);
        int stored = hashTable[hashHc(v)];
        int attempts = maxAttempts;
        int bestRef = -1;
        // compare in stored space (position + base): entries of earlier calls are all below it
        final int minStored = b + Math.max(start, ip - MAX_DISTANCE);
        while (stored >= minStored && attempts-- > 0) {
            int candidate = stored - b;
            if (candidate >= ip) {
                // inserted ahead by an earlier lazy look-ahead: not a match source for this position
                stored -= chain[candidate & 0xFFFF];
                continue;
            }
            if (src[candidate + best] == src[ip + best] && (int) INT.get(src, candidate) == v) {
                int len = MIN_MATCH + commonLength(src, ip + MIN_MATCH, candidate + MIN_MATCH, matchLimit);
                if (len > best) {
                    best = len;
                    bestRef = candidate;
                    if (ip + len >= matchLimit) {
                        break;
                    }
                }
            }
            stored -= chain[candidate & 0xFFFF];
        }
        if (bestRef < 0) {
            return 0;
        }
        int back = 0;
        while (ip - back > lowLimit && bestRef - back > start && src[ip - back - 1] == src[bestRef - back - 1]) {
            back++;
        }
        matchRef = bestRef - back;
        matchStart = ip - back;
        best += back;
        return best > minLen ? best : 0;
    }

    /** Hash-chain parse with lazy matching; returns the anchor where the final literals start. */
    private int parseHc(byte[] src, int start, int end) {
        final int mflimit = end - MF_LIMIT;
        final int matchLimit = end - LAST_LITERALS;
        nextToUpdate = start;
        int anchor = start;
        int ip = start;
        while (ip <= mflimit) {
            int len = findMatch(src, start, ip, anchor, matchLimit, MIN_MATCH - 1);
            if (len == 0) {
                ip++;
                continue;
            }
            int ref = matchRef;
            int mStart = matchStart;
            // lazy evaluation: a longer match one byte later wins
            while (true) {
                int next = mStart + 1;
                if (next > mflimit) {
                    break;
                }
                int len2 = findMatch(src, start, next, next, matchLimit, len);
                if (len2 == 0) {
                    break;
                }
                len = len2;
                ref = matchRef;
                mStart = matchStart;
            }
            if (!emit(src, anchor, mStart - anchor, mStart - ref, len, end)) {
                return anchor;
            }
            ip = mStart + len;
            anchor = ip;
        }
        return anchor;
    }
}
