package dev.microforge.image.lz4;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An LZ4 block compressor (the raw block format, no frame), written for microforge.
 *
 * <p>Two parsers: {@link #fast()} (greedy, one hash probe per position with an accelerating skip over
 * incompressible data, like LZ4_compress_default) and {@link #hc(int)} (the lz4hc design: a 64 KiB window of
 * hash chains with 16-bit deltas filled as the parser advances, up to three overlapping candidate matches
 * weighed against each other before one is emitted, and from level 9 on a shortcut along runs of one repeated
 * byte). The level sets how many chain links one search follows ({@code 2^(level-1)}, as lz4hc; levels 10 to
 * 12 follow 2048/4096/4096 links with the same parser: lz4hc's optimal parser is not implemented). Two modes:
 * {@link #compress} compresses all of its input or reports that it does not fit; {@link #compressDestSize}
 * compresses the longest prefix of its input whose block fits in a given number of output bytes (like
 * LZ4_compress_destSize; EROFS fills fixed-size physical clusters with it).
 *
 * <p>Every block obeys the LZ4 end-of-block rules (the last 5 bytes are literals, the last match starts at
 * least 12 bytes before the end), so the reference decoders (the kernel's LZ4_decompress_safe) accept it.
 * The output is a pure function of the input range and the settings: nothing outside the range is read, and
 * nothing of an earlier call is used. Instances keep their tables between calls (stale entries are told apart
 * by an offset that grows with every call, so a call costs no clearing) and are not thread-safe: use one per
 * thread.
 */
public final class Lz4Compressor {
    static final int MIN_MATCH = 4;
    static final int MF_LIMIT = 12;
    static final int LAST_LITERALS = 5;
    static final int MAX_DISTANCE = 65535;
    /** lz4hc: a candidate second match starting closer than this to the first one shortens the first one. */
    private static final int OPTIMAL_ML = 18;
    private static final int FAST_HASH_BITS = 14;
    private static final int HC_HASH_BITS = 15;
    private static final int EMPTY = Integer.MIN_VALUE / 2;

    static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final int level;
    private final int maxAttempts;
    private final boolean patternAnalysis;
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
            patternAnalysis = false;
            hashTable = new int[1 << FAST_HASH_BITS];
            chainTable = null;
        } else {
            maxAttempts = level >= 10 ? 1 << Math.min(level + 1, 12) : 1 << (level - 1);
            patternAnalysis = maxAttempts > 128;
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
     * Returns the block length, or -1 when the block would not fit. (It stops as soon as the output so far plus
     * the rest of the input as literals would not fit, so give it {@link #maxCompressedLength} to compress
     * anything compressible.)
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
        // every value stored by earlier calls is below storedTop: this call's values (position + base) start there
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
        op = writeLiterals(src, anchor, lastRun, out, op);
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

    private static int writeLiterals(byte[] src, int anchor, int litLen, byte[] o, int p) {
        if (litLen >= 15) {
            o[p++] = (byte) 0xF0;
            p = writeLength(o, p, litLen - 15);
        } else {
            o[p++] = (byte) (litLen << 4);
        }
        System.arraycopy(src, anchor, o, p, litLen);
        return p + litLen;
    }

    /** The 255-run length continuation bytes of {@code r} (a length minus 15). */
    private static int writeLength(byte[] o, int p, int r) {
        while (r >= 255) {
            o[p++] = (byte) 255;
            r -= 255;
        }
        o[p++] = (byte) r;
        return p;
    }

    /**
     * Whether a sequence (literals {@code litLen}, match {@code ml}) starting at output position {@code p} fits
     * together with what must follow it: in fill mode a token and enough literals for the end-of-block rules
     * should it be the last match (at least 5, and at least 12 from the match start; all of the {@code rest} of
     * the input when that is less), otherwise the {@code rest} of the input as literals.
     */
    private boolean fits(int p, int litLen, int ml, int rest) {
        int cost = 3 + litLen + (litLen >= 15 ? (litLen - 15) / 255 + 1 : 0) + (ml >= 19 ? (ml - 19) / 255 + 1 : 0);
        int reserve = fill ? 1 + Math.min(rest, Math.max(LAST_LITERALS, MF_LIMIT - ml)) : literalCost(rest);
        return p + cost + reserve <= oLimit;
    }

    /**
     * Emits the sequence of literals {@code [anchor, ip)} and the match at {@code ip} ({@code ref}, {@code ml}) when it
     * {@link #fits}; returns the new anchor {@code ip + ml}. When it does not fit the parse ends: returns the
     * complement {@code ~a} (negative) of the anchor {@code a} that {@link #overflow} leaves.
     */
    private int emit(byte[] src, int anchor, int ip, int ref, int ml, int end) {
        if (!fits(op, ip - anchor, ml, end - ip - ml)) {
            return ~overflow(src, anchor, ip, ref, ml, end);
        }
        op = putSequence(src, anchor, ip - anchor, ip - ref, ml, out, op, end);
        return ip + ml;
    }

    /** Writes literals {@code [anchor, anchor+litLen)} and a match; returns the new output position. */
    private int putSequence(byte[] src, int anchor, int litLen, int offset, int ml, byte[] o, int p, int end) {
        int tokenPos = p++;
        int token;
        if (litLen >= 15) {
            token = 0xF0;
            p = writeLength(o, p, litLen - 15);
        } else {
            token = litLen << 4;
        }
        if (litLen <= 16 && anchor + 16 <= end && p + 16 <= oLimit) {
            // short runs: two 8-byte copies beat the arraycopy call (the bytes past litLen are overwritten by
            // what follows or lie past the block; both reads and writes stay inside the caller's ranges)
            LONG.set(o, p, (long) LONG.get(src, anchor));
            LONG.set(o, p + 8, (long) LONG.get(src, anchor + 8));
        } else {
            System.arraycopy(src, anchor, o, p, litLen);
        }
        p += litLen;
        o[p] = (byte) offset;
        o[p + 1] = (byte) (offset >>> 8);
        p += 2;
        int m = ml - MIN_MATCH;
        if (m >= 15) {
            token |= 15;
            p = writeLength(o, p, m - 15);
        } else {
            token |= m;
        }
        o[tokenPos] = (byte) token;
        return p;
    }

    /**
     * Fill mode, the sequence at {@code anchor} did not fit: emits it with its match cut to what the remaining
     * room can describe (18 bytes without length bytes, 255 more per length byte) when its literals fit; returns
     * the new anchor.
     */
    private int overflow(byte[] src, int anchor, int ip, int ref, int ml, int end) {
        if (fill && ml > 18) {
            int litLen = ip - anchor;
            int room = oLimit - op - (3 + litLen + (litLen >= 15 ? (litLen - 15) / 255 + 1 : 0)) - (1 + LAST_LITERALS);
            if (room >= 0) {
                int cut = (int) Math.min(ml, 18L + 255L * room);
                if (cut < ml && fits(op, litLen, cut, end - ip - cut)) {
                    op = putSequence(src, anchor, litLen, ip - ref, cut, out, op, end);
                    return ip + cut;
                }
            }
        }
        return anchor;
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
        outer:
        while (true) {
            // find a match, skipping faster the longer nothing is found
            int ref;
            int searchCount = 1 << 6;
            if (ip > mflimit) {
                break outer;
            }
            // the next position's hash is computed before this one's candidate is tested (as LZ4 does)
            int v = (int) INT.get(src, ip);
            int h = hashFast(v);
            while (true) {
                int next = ip + (searchCount++ >>> 6);
                int stored = table[h];
                table[h] = ip + b;
                if (stored >= low && ip + b - stored <= MAX_DISTANCE && (int) INT.get(src, stored - b) == v) {
                    ref = stored - b;
                    break;
                }
                if (next > mflimit) {
                    break outer;
                }
                ip = next;
                v = (int) INT.get(src, ip);
                h = hashFast(v);
            }
            // extend backwards
            while (ip > anchor && ref > start && src[ip - 1] == src[ref - 1]) {
                ip--;
                ref--;
            }
            while (true) {
                int ml = MIN_MATCH + commonLength(src, ip + MIN_MATCH, ref + MIN_MATCH, matchLimit);
                int next = emit(src, anchor, ip, ref, ml, end);
                if (next < 0) {
                    anchor = ~next;
                    break outer;
                }
                ip = next;
                anchor = next;
                if (ip > mflimit) {
                    break outer;
                }
                table[hashFast((int) INT.get(src, ip - 2))] = ip - 2 + b;
                // a match right here continues without literals
                int v2 = (int) INT.get(src, ip);
                int h2 = hashFast(v2);
                int stored = table[h2];
                table[h2] = ip + b;
                if (stored >= low && ip + b - stored <= MAX_DISTANCE && (int) INT.get(src, stored - b) == v2) {
                    ref = stored - b;
                    continue;
                }
                ip++;
                break;
            }
        }
        return anchor;
    }

    // --- HC ---

    /** First position not yet in the hash chains. */
    private int nextToUpdate;
    /** Results of {@link #widerMatch}: where the match source and the match start. */
    private int matchRef;
    private int matchStart;

    /**
     * The longest match for {@code ip} longer than {@code longest}, allowed to start as far back as {@code
     * iLowLimit} (extending backwards) and to end at {@code iHighLimit}. Inserts the positions before {@code ip}
     * into the chains first. Returns the length ({@code longest} when nothing longer was found) and sets
     * {@link #matchRef} and {@link #matchStart} when it found one.
     */
    private int widerMatch(byte[] src, int start, int ip, int iLowLimit, int iHighLimit, int longest) {
        if (ip > nextToUpdate) {
            insert(src, ip);
        }
        final int b = base;
        final char[] chain = chainTable;
        final int ipIdx = ip + b;
        final int lowest = Math.max(b + start, ipIdx - MAX_DISTANCE);
        final int lookBack = ip - iLowLimit;
        final int pattern = (int) INT.get(src, ip);
        int attempts = maxAttempts;
        runState = patternAnalysis ? RUN_UNTESTED : RUN_NOT;
        int idx = hashTable[hashHc(pattern)];
        while (idx >= lowest && attempts > 0) {
            attempts--;
            int mp = idx - b;
            // the two bytes that would make it longer first (cheapest reject), then the 4 bytes at ip
            if (mp < ip
                    && (short) SHORT.get(src, iLowLimit + longest - 1) == (short) SHORT.get(src, mp - lookBack + longest - 1)
                    && (int) INT.get(src, mp) == pattern) {
                int back = 0;
                if (lookBack != 0) {
                    while (ip - back > iLowLimit && mp - back > start && src[ip - back - 1] == src[mp - back - 1]) {
                        back++;
                    }
                }
                int len = MIN_MATCH + commonLength(src, ip + MIN_MATCH, mp + MIN_MATCH, iHighLimit) + back;
                if (len > longest) {
                    longest = len;
                    matchRef = mp - back;
                    matchStart = ip - back;
                }
            }
            int delta = chain[idx & 0xFFFF];
            if (delta == 1 && runState != RUN_NOT) {
                // consecutive positions share a hash: maybe a run of one byte; jump along it instead of stepping
                runLongest = longest;
                int next = runJump(src, start, ip, idx, lowest, lookBack, iHighLimit, pattern);
                longest = runLongest;
                if (next == Integer.MIN_VALUE) {
                    break;
                }
                if (next != idx) {
                    idx = next;
                    continue;
                }
            }
            idx -= delta;
        }
        return longest;
    }

    /** Adds positions {@code [nextToUpdate, upTo)} to the hash chains. */
    private void insert(byte[] src, int upTo) {
        final int b = base;
        final int[] head = hashTable;
        final char[] chain = chainTable;
        for (int p = nextToUpdate; p < upTo; p++) {
            int h = hashHc((int) INT.get(src, p));
            int delta = p + b - head[h];
            if ((delta >>> 16) != 0) { // beyond the window, empty, or from an earlier call
                delta = MAX_DISTANCE;
            }
            chain[(p + b) & 0xFFFF] = (char) delta; // chains are indexed by stored value, as the search reads them
            head[h] = p + b;
        }
        nextToUpdate = upTo;
    }

    private static final int RUN_UNTESTED = 0;
    private static final int RUN_YES = 1;
    private static final int RUN_NOT = 2;
    /** Per search: whether the 4 bytes at ip are one repeated byte, and the run's length from ip. */
    private int runState;
    private int runFromIp;
    /** In/out of {@link #runJump}: the longest match so far. */
    private int runLongest;

    /**
     * lz4hc's pattern analysis, for a chain link of delta 1 at {@code idx}: when ip starts a run of one byte and
     * so does the candidate before {@code idx}, the next candidate worth testing is where the candidate's run
     * covers ip's run (or its start, which is itself a match of the run's length). Returns the next index to
     * test, {@code idx} itself to follow the chain as usual, or {@link Integer#MIN_VALUE} to stop the search.
     */
    private int runJump(byte[] src, int start, int ip, int idx, int lowest, int lookBack, int iHighLimit, int pattern) {
        final int b = base;
        if (runState == RUN_UNTESTED) {
            if (((pattern & 0xFFFF) == (pattern >>> 16)) & ((pattern & 0xFF) == (pattern >>> 24))) {
                runState = RUN_YES;
                runFromIp = MIN_MATCH + runLength(src, ip + MIN_MATCH, iHighLimit, (byte) pattern);
            } else {
                runState = RUN_NOT;
                return idx;
            }
        }
        int cand = idx - 1;
        if (cand < lowest) {
            return idx;
        }
        int cp = cand - b;
        if ((int) INT.get(src, cp) != pattern) {
            return idx;
        }
        int srcRun = runFromIp;
        int fwd = MIN_MATCH + runLength(src, cp + MIN_MATCH, iHighLimit, (byte) pattern);
        int backRun = Math.min(reverseRunLength(src, cp, start, (byte) pattern), cand - lowest);
        int segment = backRun + fwd;
        if (segment >= srcRun && fwd <= srcRun) {
            // the source run fits in this one ending where it ends: best place, maybe followed by more
            return cand + fwd - srcRun;
        }
        int next = cand - backRun;
        if (lookBack == 0) {
            int maxLen = Math.min(segment, srcRun);
            if (runLongest < maxLen) {
                if (ip + b - next > MAX_DISTANCE) {
                    return Integer.MIN_VALUE;
                }
                runLongest = maxLen;
                matchRef = next - b;
                matchStart = ip;
            }
            next -= chainTable[next & 0xFFFF];
        }
        return next;
    }

    /** Bytes equal to {@code v} from {@code p} on, before {@code limit}. */
    private static int runLength(byte[] s, int p, int limit, byte v) {
        int start = p;
        long pat = (v & 0xFFL) * 0x0101010101010101L;
        while (p + 8 <= limit) {
            long x = (long) LONG.get(s, p) ^ pat;
            if (x != 0) {
                return p - start + (Long.numberOfTrailingZeros(x) >>> 3);
            }
            p += 8;
        }
        while (p < limit && s[p] == v) {
            p++;
        }
        return p - start;
    }

    /** Bytes equal to {@code v} just before {@code p}, not below {@code low}. */
    private static int reverseRunLength(byte[] s, int p, int low, byte v) {
        int q = p;
        long pat = (v & 0xFFL) * 0x0101010101010101L;
        while (q - 8 >= low && (long) LONG.get(s, q - 8) == pat) {
            q -= 8;
        }
        while (q > low && s[q - 1] == v) {
            q--;
        }
        return p - q;
    }

    /** The lz4hc parse; returns the anchor where the final literals start. */
    private int parseHc(byte[] src, int start, int end) {
        final int mflimit = end - MF_LIMIT;
        final int matchLimit = end - LAST_LITERALS;
        nextToUpdate = start;
        int anchor = start;
        int ip = start;
        int ml;
        int ref;
        int ml2;
        int start2 = 0;
        int ref2 = 0;
        int ml3;
        int start3 = 0;
        int ref3 = 0;
        // fill mode: once the pending literals alone cannot fit with any match after them (token, offset and the
        // end-of-block literals), no later sequence can be emitted either: stop searching (the caller's last
        // literals are the same as after a search to the end, which on incompressible input costs a scan of the
        // whole rest of the input for each output block)
        int litLimitOp = -1;
        int litLimit = Integer.MAX_VALUE;
        main:
        while (ip <= mflimit) {
            if (fill) {
                if (op != litLimitOp) {
                    litLimitOp = op;
                    litLimit = maxLiterals(oLimit - op - 8);
                }
                if (ip - anchor > litLimit) {
                    return anchor;
                }
            }
            ml = widerMatch(src, start, ip, ip, matchLimit, MIN_MATCH - 1);
            if (ml < MIN_MATCH) {
                ip++;
                continue;
            }
            ref = matchRef;
            // kept in case the first match gets skipped too far
            int start0 = ip;
            int ref0 = ref;
            int ml0 = ml;
            search2:
            while (true) {
                if (ip + ml <= mflimit) {
                    ml2 = widerMatch(src, start, ip + ml - 2, ip, matchLimit, ml);
                    start2 = matchStart;
                    ref2 = matchRef;
                } else {
                    ml2 = ml;
                }
                if (ml2 == ml) {
                    // nothing better overlaps: emit the first match
                    anchor = emit(src, anchor, ip, ref, ml, end);
                    if (anchor < 0) {
                        return ~anchor;
                    }
                    ip = anchor;
                    continue main;
                }
                if (start0 < ip && start2 < ip + ml0) {
                    // the skipped first match squeezes in before the second: restore it
                    ip = start0;
                    ref = ref0;
                    ml = ml0;
                }
                if (start2 - ip < 3) {
                    // the first match would be too short: the second replaces it
                    ml = ml2;
                    ip = start2;
                    ref = ref2;
                    continue search2;
                }
                while (true) { // search 3
                    // here ml2 > ml and ip + 3 <= start2 (usually < ip + ml)
                    if (start2 - ip < OPTIMAL_ML) {
                        int newMl = Math.min(ml, OPTIMAL_ML);
                        if (ip + newMl > start2 + ml2 - MIN_MATCH) {
                            newMl = start2 - ip + ml2 - MIN_MATCH;
                        }
                        int correction = newMl - (start2 - ip);
                        if (correction > 0) {
                            start2 += correction;
                            ref2 += correction;
                            ml2 -= correction;
                        }
                    }
                    if (start2 + ml2 <= mflimit) {
                        ml3 = widerMatch(src, start, start2 + ml2 - 3, start2, matchLimit, ml2);
                        start3 = matchStart;
                        ref3 = matchRef;
                    } else {
                        ml3 = ml2;
                    }
                    if (ml3 == ml2) {
                        // no better third: emit the first (cut where the second starts) and the second
                        if (start2 < ip + ml) {
                            ml = start2 - ip;
                        }
                        anchor = emit(src, anchor, ip, ref, ml, end);
                        if (anchor < 0) {
                            return ~anchor;
                        }
                        ip = anchor;
                        ip = start2;
                        anchor = emit(src, anchor, ip, ref2, ml2, end);
                        if (anchor < 0) {
                            return ~anchor;
                        }
                        ip = anchor;
                        continue main;
                    }
                    if (start3 < ip + ml + 3) {
                        // no room for the second between the first and the third: drop it
                        if (start3 >= ip + ml) {
                            // the first can go now; the third becomes the first
                            if (start2 < ip + ml) {
                                int correction = ip + ml - start2;
                                start2 += correction;
                                ref2 += correction;
                                ml2 -= correction;
                                if (ml2 < MIN_MATCH) {
                                    start2 = start3;
                                    ref2 = ref3;
                                    ml2 = ml3;
                                }
                            }
                            anchor = emit(src, anchor, ip, ref, ml, end);
                            if (anchor < 0) {
                                return ~anchor;
                            }
                            ip = anchor;
                            ip = start3;
                            ref = ref3;
                            ml = ml3;
                            start0 = start2;
                            ref0 = ref2;
                            ml0 = ml2;
                            continue search2;
                        }
                        start2 = start3;
                        ref2 = ref3;
                        ml2 = ml3;
                        continue;
                    }
                    // three ascending matches: emit the first, cut before the second
                    if (start2 < ip + ml) {
                        if (start2 - ip < OPTIMAL_ML) {
                            if (ml > OPTIMAL_ML) {
                                ml = OPTIMAL_ML;
                            }
                            if (ip + ml > start2 + ml2 - MIN_MATCH) {
                                ml = start2 - ip + ml2 - MIN_MATCH;
                            }
                            int correction = ml - (start2 - ip);
                            if (correction > 0) {
                                start2 += correction;
                                ref2 += correction;
                                ml2 -= correction;
                            }
                        } else {
                            ml = start2 - ip;
                        }
                    }
                    anchor = emit(src, anchor, ip, ref, ml, end);
                    if (anchor < 0) {
                        return ~anchor;
                    }
                    ip = anchor;
                    ip = start2;
                    ref = ref2;
                    ml = ml2;
                    start2 = start3;
                    ref2 = ref3;
                    ml2 = ml3;
                }
            }
        }
        return anchor;
    }
}
