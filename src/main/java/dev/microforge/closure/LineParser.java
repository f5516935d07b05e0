package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.Nix32;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The byte-level reader of the line formats ({@link LineFormat}): one pass over the file's bytes that validates
 * every line and builds the compact {@link ClosureGraph} directly. No String or object per path or line: each
 * store path's base name is hashed (its 32-character hash part decoded to three longs, and the name's bytes) and
 * interned through an open-addressing table to an int id; base names are copied once into a byte arena (which is
 * also the sort key: unsigned bytes); references are collected as ids and become compressed rows. About 80 bytes per
 * path while parsing (a million paths fit in a 256 MiB heap together with the graph built from them).
 *
 * <p>Error messages and their precedence are exactly those of the line-by-line reader the tests keep as a
 * differential oracle ({@code LegacyLineFormat}): a non-ASCII or NUL byte anywhere in the file is reported first (at its line), then a
 * missing final newline, then the first problem in file order (a reference count that exceeds the lines left is
 * reported at the count line, before anything in the references), then a path listed twice with different
 * information, then the first dangling reference ({@link NotClosedException}). Lines that the fast path does not
 * accept are re-checked with {@link StorePath#parse}, {@link Hash#parse} and the same number rules, so their
 * messages are those parsers' messages.
 */
final class LineParser {
    private static final byte[] DEC = new byte[256];
    private static final boolean[] NAME_CHAR = new boolean[256];
    private static final byte NO_HASH = 0;
    private static final byte SHA256 = 1;
    private static final byte OTHER_HASH = 2;

    static {
        Arrays.fill(DEC, (byte) -1);
        for (int i = 0; i < Nix32.ALPHABET.length(); i++) {
            DEC[Nix32.ALPHABET.charAt(i)] = (byte) i;
        }
        for (int c = 0; c < 128; c++) {
            NAME_CHAR[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '+' || c == '-' || c == '.' || c == '_' || c == '?' || c == '=';
        }
    }

    /** Bytes kept ahead of the position so that every line the fast paths accept is whole in the window. */
    private static final int WINDOW = 1 << 20;

    private final String source;
    private final String storeDir;
    private final long fileSize;
    private byte[] buf; // the window: file bytes [pos, len) not yet consumed (the whole content for byte[] input)
    private int len;
    private final ReadableByteChannel in; // null for byte[] input
    private boolean eof;
    private long readTotal;
    private byte lastByte;
    private final int lookahead;
    private final boolean withHash;
    private final byte[] prefix;
    private final boolean fast;
    private int pos;
    private int line = 1;

    // interned paths (ids in order of first appearance)
    private int count;
    private int[] kh; // per id: the hash of its base name (decoded hash part and name bytes), before the mask
    private int[] nameOff;
    private byte[] arena;
    private int arenaLen;
    private int[] table;
    private int mask;
    // per id: the first record that declared it (declLine 0 = only referred to so far)
    private int[] declLine;
    private int[] firstRefLine;
    private int[] firstRefBy;
    private int[] rowStart;
    private int[] rowLen;
    private long[] narSize;
    private byte[] hashKind;
    private byte[] sha;
    private final Map<Integer, Hash> otherHashes = new HashMap<>();
    private int[] derStart;
    private int[] derLen;
    private byte[] derArena = new byte[64];
    private int derArenaLen;
    private int declared;
    // reference ids of all first declarations, back to back
    private int[] rrefs;
    private int rlen;
    private String pendingDuplicate;

    // the last path scanned
    private long pHi;
    private long pMid;
    private long pLo;
    private int pHash;
    private int pBase;
    private int pBaseLen;
    private int pEnd;
    // the current record's narHash
    private final byte[] tmpSha = new byte[32];
    private byte[] tmpDer = new byte[256];
    private byte tmpKind;
    private Hash tmpOther;

    private LineParser(String source, String storeDir, byte[] window, int filled, ReadableByteChannel in, long size,
            boolean withHash) {
        this.source = source;
        this.storeDir = storeDir;
        this.fileSize = size;
        this.buf = window;
        this.len = filled;
        this.in = in;
        this.eof = in == null;
        this.readTotal = filled;
        this.lastByte = filled > 0 ? window[filled - 1] : 0;
        this.withHash = withHash;
        this.prefix = (storeDir + "/").getBytes(StandardCharsets.ISO_8859_1);
        this.lookahead = prefix.length + 512;
        this.fast = validStoreDir(storeDir) && storeDir.chars().allMatch(c -> c > 0x20 && c < 0x7f);
        int cap = (int) Math.max(16, Math.min(Integer.MAX_VALUE - 8, size / 400));
        kh = new int[cap];
        nameOff = new int[cap];
        declLine = new int[cap];
        firstRefLine = new int[cap];
        firstRefBy = new int[cap];
        rowStart = new int[cap];
        rowLen = new int[cap];
        narSize = new long[cap];
        hashKind = new byte[cap];
        sha = withHash ? new byte[cap * 32] : new byte[0];
        derStart = new int[cap];
        derLen = new int[cap];
        arena = new byte[cap * 40];
        rrefs = new int[(int) Math.max(16, Math.min(Integer.MAX_VALUE - 8, size / 80))];
        table = new int[tableSize(cap)];
        Arrays.fill(table, -1);
        mask = table.length - 1;
    }

    private static boolean validStoreDir(String storeDir) {
        try {
            new StorePath(storeDir, "00000000000000000000000000000000", "x");
            return true;
        } catch (IllegalArgumentException e) {
            return false; // every path line then fails through StorePath.parse, with its message
        }
    }

    /** Parses {@code content} (which it may keep until the graph is built) into a graph. */
    static ClosureGraph parse(String source, String storeDir, byte[] content, boolean withHash) {
        return new LineParser(source, storeDir, content, content.length, null, content.length, withHash).run();
    }

    /**
     * Parses a file read through {@code in} in a window of about a megabyte (the file is never in memory as a whole):
     * {@code head[0 .. filled)} are its first bytes, already read; {@code size} is its size (a capacity hint).
     */
    static ClosureGraph parse(String source, String storeDir, byte[] head, int filled, ReadableByteChannel in, long size,
            boolean withHash) {
        return parse(source, storeDir, head, filled, in, size, withHash, WINDOW);
    }

    /** As above with a window of {@code window} bytes (tests use tiny ones; it grows when a line needs more). */
    static ClosureGraph parse(String source, String storeDir, byte[] head, int filled, ReadableByteChannel in, long size,
            boolean withHash, int window) {
        byte[] w = Arrays.copyOf(head, Math.max(Math.max(1, window), filled));
        return new LineParser(source, storeDir, w, filled, in, size, withHash).run();
    }

    private ClosureGraph run() {
        if (eof) {
            finalNewline();
        }
        while (true) {
            ensure();
            if (pos >= len) {
                break;
            }
            if (buf[pos] == '\n') {
                int errLine = line;
                if (scanRest() == 0) {
                    break; // trailing empty lines are tolerated
                }
                fail(errLine, "expected a store path, got an empty line");
            }
            record();
        }
        if (pendingDuplicate != null) {
            throw new UserError(pendingDuplicate);
        }
        buf = null; // the arena has what the graph needs
        if (declared < count) {
            throw notClosed();
        }
        return build();
    }

    // ---- records ----

    private void record() {
        int pathLine = line;
        String problem = scanPath();
        if (problem != null) {
            fail(pathLine, problem);
        }
        int id = intern();
        consume(pEnd);
        long size = -1;
        if (withHash) {
            atLeastOneLine(id, "the narHash of ");
            narHash(id);
            atLeastOneLine(id, "the narSize of ");
            size = number(Long.MAX_VALUE, "narSize of ", id);
        }
        atLeastOneLine(id, "the deriver line of ");
        int dLen = -1;
        if (buf[pos] == '\n') {
            consume(pos);
        } else {
            int dl = line;
            String p = scanPath();
            if (p != null) {
                fail(dl, p);
            }
            dLen = pBaseLen;
            if (tmpDer.length < dLen) {
                tmpDer = new byte[dLen];
            }
            System.arraycopy(buf, pBase, tmpDer, 0, dLen);
            consume(pEnd);
        }
        atLeastOneLine(id, "the reference count of ");
        int countLine = line;
        long refCount = number(Integer.MAX_VALUE, "reference count of ", id);
        int row = rlen;
        for (long i = 0; i < refCount; i++) {
            ensure();
            if (pos >= len) {
                refsFail(refCount, i, countLine, id, line, "unexpected end of file: expected reference " + (i + 1) + " of "
                        + refCount + " of " + pathText(id) + " (truncated file?)");
            }
            int rl = line;
            if (buf[pos] == '\n') {
                refsFail(refCount, i, countLine, id, rl, "expected reference " + (i + 1) + " of " + refCount + " of "
                        + pathText(id) + ", got an empty line (wrong count?)");
            }
            String p = scanPath();
            if (p != null) {
                refsFail(refCount, i, countLine, id, rl, p);
            }
            int before = count;
            int r = intern();
            if (r == before) { // first seen here, as a reference
                firstRefLine[r] = rl;
                firstRefBy[r] = id;
            }
            if (rlen == rrefs.length) {
                rrefs = Arrays.copyOf(rrefs, rrefs.length + (rrefs.length >> 1) + 16);
            }
            rrefs[rlen++] = r;
            consume(pEnd);
        }
        if (declLine[id] != 0) {
            if (pendingDuplicate == null && !sameAsFirst(id, row, size)) {
                pendingDuplicate = UserError.at(source, pathLine, "path " + pathText(id)
                        + " is listed again (first at line " + declLine[id] + ") with different information").getMessage();
            }
            rlen = row;
            return;
        }
        declared++;
        declLine[id] = pathLine;
        rowStart[id] = row;
        rowLen[id] = rlen - row;
        narSize[id] = size;
        hashKind[id] = tmpKind;
        if (tmpKind == SHA256) {
            System.arraycopy(tmpSha, 0, sha, id * 32, 32);
        } else if (tmpKind == OTHER_HASH) {
            otherHashes.put(id, tmpOther);
        }
        if (dLen >= 0) {
            if (derArenaLen + dLen > derArena.length) {
                derArena = Arrays.copyOf(derArena, Math.max(derArena.length * 2, derArenaLen + dLen));
            }
            System.arraycopy(tmpDer, 0, derArena, derArenaLen, dLen);
            derStart[id] = derArenaLen;
            derLen[id] = dLen;
            derArenaLen += dLen;
        }
    }

    /**
     * Whether a path listed again says the same as its first listing: same set of references, equal narHash, equal
     * narSize (the deriver is not compared).
     */
    private boolean sameAsFirst(int id, int row, long size) {
        if (narSize[id] != size || hashKind[id] != tmpKind) {
            return false;
        }
        if (tmpKind == SHA256 && !Arrays.equals(sha, id * 32, id * 32 + 32, tmpSha, 0, 32)) {
            return false;
        }
        if (tmpKind == OTHER_HASH && !otherHashes.get(id).equals(tmpOther)) {
            return false;
        }
        int[] a = Arrays.copyOfRange(rrefs, rowStart[id], rowStart[id] + rowLen[id]);
        int[] b = Arrays.copyOfRange(rrefs, row, rlen);
        return Arrays.equals(distinctSorted(a), distinctSorted(b));
    }

    private static int[] distinctSorted(int[] a) {
        return Arrays.stream(a).sorted().distinct().toArray();
    }

    private void atLeastOneLine(int id, String what) {
        ensure();
        if (pos >= len) {
            fail(line, "unexpected end of file: expected " + what + pathText(id) + " (truncated file?)");
        }
    }

    private void consume(int newline) {
        pos = newline + 1;
        line++;
    }

    /** The full path of interned path {@code id}, for messages. */
    private String pathText(int id) {
        return storeDir + "/" + new String(arena, nameOff[id], nameLen(id), StandardCharsets.ISO_8859_1);
    }

    /**
     * A problem in reading reference {@code i + 1}: when the count line promised more lines than the file has left,
     * that is the error (at the count line), whatever is wrong in the references.
     */
    private void refsFail(long refCount, long i, int countLine, int id, int errLine, String message) {
        long left = i + scanRest();
        if (refCount > left) {
            fail(countLine, "reference count " + refCount + " of " + pathText(id) + " exceeds the " + left
                    + " lines left in the file (wrong count or truncated file?)");
        }
        fail(errLine, message);
    }

    /** Throws the error at {@code errLine}, unless a later line holds a non-ASCII byte (that one is reported instead). */
    private void fail(int errLine, String message) {
        scanRest();
        throw UserError.at(source, errLine, message);
    }

    /**
     * Reads the rest of the file from the line at {@code pos} (consuming it: only for errors and the end): a NUL or
     * non-ASCII byte is reported at its line, then a missing final newline. Returns the number of lines up to the
     * last one that is not empty (trailing empty lines do not count).
     */
    private int scanRest() {
        int lineNo = line;
        int lines = 0;
        int upToContent = 0;
        int i = pos;
        while (true) {
            if (i >= len) {
                pos = i;
                if (eof) {
                    break;
                }
                refill(false);
                i = pos;
                continue;
            }
            byte b = buf[i++];
            if (b == '\n') {
                lineNo++;
                lines++;
            } else if (b <= 0) {
                throw badByte(lineNo, b);
            } else {
                upToContent = lines + 1;
            }
        }
        if (readTotal > 0 && lastByte != '\n') {
            throw UserError.at(source, lineNo, "unexpected end of file: the last line has no newline (truncated?)");
        }
        return upToContent;
    }

    private UserError badByte(int lineNo, byte b) {
        return UserError.at(source, lineNo, "unexpected byte 0x" + String.format("%02x", b & 0xff)
                + " (a closure file is ASCII text; is this the right file?)");
    }

    /** At the end of the file: a last line without newline is an error (after any bad byte in the window). */
    private void finalNewline() {
        if (readTotal > 0 && lastByte != '\n') {
            int lineNo = line;
            for (int i = pos; i < len; i++) {
                if (buf[i] == '\n') {
                    lineNo++;
                } else if (buf[i] <= 0) {
                    throw badByte(lineNo, buf[i]);
                }
            }
            throw UserError.at(source, lineNo, "unexpected end of file: the last line has no newline (truncated?)");
        }
    }

    /** Makes sure the window holds {@link #lookahead} bytes from {@code pos} or the rest of the file. */
    private void ensure() {
        if (!eof && len - pos < lookahead) {
            refill(true);
        }
    }

    /** Moves the unconsumed bytes to the front of the window (growing it when they fill it) and reads more. */
    private void refill(boolean checkEnd) {
        if (eof) {
            return;
        }
        int keep = len - pos;
        if (pos == 0 && keep == buf.length) {
            buf = Arrays.copyOf(buf, buf.length * 2);
        } else if (keep > 0) {
            System.arraycopy(buf, pos, buf, 0, keep);
        }
        pos = 0;
        len = keep;
        try {
            while (len < buf.length) {
                int r = in.read(ByteBuffer.wrap(buf, len, buf.length - len));
                if (r < 0) {
                    eof = true;
                    break;
                }
                if (r > 0) {
                    len += r;
                    readTotal += r;
                    lastByte = buf[len - 1];
                }
            }
        } catch (IOException e) {
            throw new UserError(source + ": cannot read: " + e.getMessage(), e);
        }
        if (eof && checkEnd) {
            finalNewline();
        }
    }

    private String text(int from, int to) {
        return new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
    }

    /** The end of the line at {@code pos}; a bad byte on it is the file's first, reported at once. */
    private int lineEnd() {
        int i = pos;
        while (true) {
            if (i >= len) {
                if (eof) {
                    throw new IllegalStateException("no newline at the end"); // finalNewline() rules this out
                }
                int rel = i - pos;
                refill(true);
                i = pos + rel;
                continue;
            }
            byte b = buf[i];
            if (b == '\n') {
                return i;
            }
            if (b <= 0) {
                throw badByte(line, b);
            }
            i++;
        }
    }

    // ---- lines ----

    /**
     * Decodes the 32 nix32 characters at {@code b[h..h+32)} into pHi (12 digits), pMid (12) and pLo (8); returns false
     * when one of them is not a nix32 digit.
     */
    private boolean decodeHash(byte[] b, int h) {
        long hi = 0;
        long mid = 0;
        long lo = 0;
        int bad = 0;
        for (int k = 0; k < 12; k++) {
            int d = DEC[b[h + k] & 0xff];
            bad |= d;
            hi = hi << 5 | (d & 31);
        }
        for (int k = 12; k < 24; k++) {
            int d = DEC[b[h + k] & 0xff];
            bad |= d;
            mid = mid << 5 | (d & 31);
        }
        for (int k = 24; k < 32; k++) {
            int d = DEC[b[h + k] & 0xff];
            bad |= d;
            lo = lo << 5 | (d & 31);
        }
        pHi = hi;
        pMid = mid;
        pLo = lo;
        return bad >= 0;
    }

    /**
     * Scans the store path on the line at {@code pos} (without consuming it): sets pHi/pMid/pLo (the decoded hash
     * part), pBase/pBaseLen (the base name in the buffer) and pEnd (the newline). Returns null, or the message.
     */
    private String scanPath() {
        ensure();
        byte[] b = buf;
        int p = pos;
        int pl = prefix.length;
        fastPath:
        if (fast && len - p > pl + StorePath.HASH_LENGTH + 2) {
            for (int k = 0; k < pl; k++) {
                if (b[p + k] != prefix[k]) {
                    break fastPath;
                }
            }
            int h = p + pl;
            if (!decodeHash(b, h) || b[h + 32] != '-' || b[h + 33] == '.') {
                break fastPath;
            }
            int q = h + 33;
            int lim = Math.min(len, q + StorePath.MAX_NAME_LENGTH + 1);
            while (q < lim && NAME_CHAR[b[q] & 0xff]) {
                q++;
            }
            int nameLen = q - h - 33;
            if (q == lim || b[q] != '\n' || nameLen == 0) {
                break fastPath;
            }
            pBase = h;
            pBaseLen = q - h;
            pEnd = q;
            return null;
        }
        int e = lineEnd();
        b = buf;
        String text = text(pos, e);
        try {
            StorePath.parse(storeDir, text);
        } catch (IllegalArgumentException ex) {
            return "expected a store path, got '" + Records.shown(text) + "': " + ex.getMessage();
        }
        // valid after all (the fast path is only stricter in what it takes at speed)
        int h = pos + pl;
        decodeHash(b, h);
        pBase = h;
        pBaseLen = e - h;
        pEnd = e;
        return null;
    }

    /** Parses the narHash line into tmpKind/tmpSha/tmpOther and consumes it. */
    private void narHash(int id) {
        byte[] b = buf;
        int p = pos;
        int hl = line;
        // sha256:<52 nix32 chars>, as closureInfo writes it
        if (len - p > 59 && b[p + 59] == '\n' && b[p] == 's' && b[p + 1] == 'h' && b[p + 2] == 'a' && b[p + 3] == '2'
                && b[p + 4] == '5' && b[p + 5] == '6' && b[p + 6] == ':' && decodeNix32(p + 7)) {
            tmpKind = SHA256;
            consume(p + 59);
            return;
        }
        // 64 lower-case hex digits, as nix-store --dump-db writes it
        if (len - p > 64 && b[p + 64] == '\n' && decodeHex(p)) {
            tmpKind = SHA256;
            consume(p + 64);
            return;
        }
        int e = lineEnd();
        String h = text(pos, e);
        Hash parsed;
        try {
            parsed = Hash.parse(h, "sha256");
        } catch (IllegalArgumentException ex) {
            fail(hl, "invalid narHash of " + pathText(id) + ": " + ex.getMessage());
            return;
        }
        if (parsed.algorithm().equals("sha256")) {
            tmpKind = SHA256;
            System.arraycopy(parsed.bytes(), 0, tmpSha, 0, 32);
        } else {
            tmpKind = OTHER_HASH;
            tmpOther = parsed;
        }
        consume(e);
    }

    /** Nix32.decode of the 52 characters at {@code at} into tmpSha; false on any problem (the slow path reports it). */
    private boolean decodeNix32(int at) {
        byte[] out = tmpSha;
        Arrays.fill(out, (byte) 0);
        for (int n = 0; n < 52; n++) {
            int digit = DEC[buf[at + 51 - n] & 0xff];
            if (digit < 0) {
                return false;
            }
            int bit = n * 5;
            int i = bit >>> 3;
            int j = bit & 7;
            out[i] |= (byte) (digit << j);
            int carry = digit >>> (8 - j);
            if (i + 1 < 32) {
                out[i + 1] |= (byte) carry;
            } else if (carry != 0) {
                return false;
            }
        }
        return true;
    }

    private boolean decodeHex(int at) {
        for (int i = 0; i < 32; i++) {
            int a = hex(buf[at + 2 * i]);
            int c = hex(buf[at + 2 * i + 1]);
            if ((a | c) < 0) {
                return false;
            }
            tmpSha[i] = (byte) (a << 4 | c);
        }
        return true;
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }

    /** A non-negative integer line (the oracle's rules and messages), consumed. */
    private long number(long max, String what, int id) {
        byte[] b = buf;
        int p = pos;
        int l = line;
        long v = 0;
        int digits = 0;
        while (b[p] >= '0' && b[p] <= '9' && digits < 19) {
            v = v * 10 + (b[p] - '0');
            digits++;
            p++;
        }
        if (b[p] == '\n' && digits >= 1 && digits <= 18) {
            if (v > max) {
                fail(l, what + pathText(id) + " " + v + " is too large");
            }
            consume(p);
            return v;
        }
        int e = lineEnd();
        String text = text(pos, e);
        if (text.isEmpty() || text.length() > 19 || !text.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            fail(l, "expected the " + what + pathText(id) + " (a non-negative integer), got '"
                    + Records.shown(text) + "'");
        }
        long parsed;
        try {
            parsed = Long.parseLong(text);
        } catch (NumberFormatException tooLarge) { // 19 digits past Long.MAX_VALUE
            fail(l, what + pathText(id) + " " + text + " is too large");
            return 0;
        }
        if (parsed > max) {
            fail(l, what + pathText(id) + " " + parsed + " is too large");
        }
        consume(e);
        return parsed;
    }

    // ---- interning ----

    /**
     * The id of the path last scanned, adding it when new. The table is keyed on the whole base name (the decoded
     * hash part and the name's bytes), so paths that share a hash part spread over the table like any others.
     */
    private int intern() {
        long hi = pHi;
        long mid = pMid;
        long lo = pLo;
        int h = hash(hi, mid, lo, nameHash(buf, pBase + StorePath.HASH_LENGTH + 1, pBase + pBaseLen));
        pHash = h;
        int slot = h & mask;
        int[] t = table;
        while (true) {
            int id = t[slot];
            if (id < 0) {
                return add(slot);
            }
            if (kh[id] == h && sameBaseName(id)) {
                return id;
            }
            slot = (slot + 1) & mask;
        }
    }

    private static int nameHash(byte[] b, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) {
            h = h * 31 + b[i];
        }
        return h;
    }

    private static int hash(long hi, long mid, long lo, int nameHash) {
        long x = hi * 0x9E3779B97F4A7C15L ^ mid * 0xC2B2AE3D27D4EB4FL ^ lo ^ nameHash * 0xD6E8FEB86659FD93L;
        x ^= x >>> 31;
        x *= 0xBF58476D1CE4E5B9L;
        return (int) (x ^ (x >>> 32));
    }

    /** A power of two at least 1.5 times {@code cap}: the table stays at most two thirds full. */
    private static int tableSize(int cap) {
        return Integer.highestOneBit(Math.max(2, cap + (cap >> 1)) - 1) << 1;
    }

    private boolean sameBaseName(int id) {
        int o = nameOff[id];
        int l = id + 1 < count ? nameOff[id + 1] - o : arenaLen - o;
        return l == pBaseLen && Arrays.equals(arena, o, o + l, buf, pBase, pBase + pBaseLen);
    }

    private int add(int slot) {
        int id = count;
        if (id == kh.length) {
            grow();
            return intern(); // the table was rebuilt
        }
        if (arenaLen + pBaseLen > arena.length) {
            // room for the ids there is room for, at the mean base name length so far; at least 1/8 more
            long want = count > 0 ? (long) ((double) arenaLen / count * kh.length * 1.02) : 0;
            arena = Arrays.copyOf(arena, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(arenaLen + pBaseLen,
                    Math.max(arena.length + (arena.length >> 3) + 64, want))));
        }
        System.arraycopy(buf, pBase, arena, arenaLen, pBaseLen);
        nameOff[id] = arenaLen;
        arenaLen += pBaseLen;
        kh[id] = pHash;
        table[slot] = id;
        count++;
        return id;
    }

    /**
     * Room for more ids. The new capacity is what the file will need by the records declared so far and the share of
     * the file read (a closure declares each of its paths once), at least 1/8 more; so a million-path file ends near
     * its size instead of up to half again above it. The arena is sized along (the mean base name so far times the new
     * capacity), so its copies happen early, while it is small, and not when the rest is large too.
     */
    private void grow() {
        long consumed = readTotal - (len - pos);
        long estimate = declared > 0 && consumed > 0 && fileSize > consumed
                ? (long) ((double) declared * fileSize / consumed * 1.05) + 16 : 0;
        int cap = (int) Math.min(Integer.MAX_VALUE - 8,
                Math.max(kh.length + (kh.length >> 3) + 16, Math.min(estimate, 4L * kh.length + 16)));
        long arenaWant = count > 0 ? (long) ((double) arenaLen / count * cap * 1.02) : 0;
        if (arenaWant > arena.length) {
            arena = Arrays.copyOf(arena, (int) Math.min(Integer.MAX_VALUE - 8, arenaWant));
        }
        kh = Arrays.copyOf(kh, cap);
        nameOff = Arrays.copyOf(nameOff, cap);
        declLine = Arrays.copyOf(declLine, cap);
        firstRefLine = Arrays.copyOf(firstRefLine, cap);
        firstRefBy = Arrays.copyOf(firstRefBy, cap);
        rowStart = Arrays.copyOf(rowStart, cap);
        rowLen = Arrays.copyOf(rowLen, cap);
        narSize = Arrays.copyOf(narSize, cap);
        hashKind = Arrays.copyOf(hashKind, cap);
        if (withHash) {
            sha = Arrays.copyOf(sha, cap * 32);
        }
        derStart = Arrays.copyOf(derStart, cap);
        derLen = Arrays.copyOf(derLen, cap);
        table = null;
        table = new int[tableSize(cap)];
        Arrays.fill(table, -1);
        mask = table.length - 1;
        for (int id = 0; id < count; id++) {
            int slot = kh[id] & mask;
            while (table[slot] >= 0) {
                slot = (slot + 1) & mask;
            }
            table[slot] = id;
        }
    }

    // ---- the graph ----

    private int nameLen(int id) {
        return (id + 1 < count ? nameOff[id + 1] : arenaLen) - nameOff[id];
    }

    /** Path order: the base names' unsigned bytes (the fixed-length hash part first, then the name). */
    private int compare(int a, int b) {
        int oa = nameOff[a];
        int ob = nameOff[b];
        return Arrays.compareUnsigned(arena, oa, oa + nameLen(a), arena, ob, ob + nameLen(b));
    }

    private int[] sortedIds() {
        int n = count;
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        boolean sorted = true;
        for (int i = 1; i < n && sorted; i++) {
            sorted = compare(i - 1, i) < 0;
        }
        if (sorted) {
            return a;
        }
        int[] tmp = new int[n];
        // bottom-up merge sort: runs of 16 by insertion, then merges
        for (int lo = 0; lo < n; lo += 16) {
            int hi = Math.min(n, lo + 16);
            for (int i = lo + 1; i < hi; i++) {
                int v = a[i];
                int j = i - 1;
                while (j >= lo && compare(a[j], v) > 0) {
                    a[j + 1] = a[j];
                    j--;
                }
                a[j + 1] = v;
            }
        }
        for (int width = 16; width < n; width *= 2) {
            for (int lo = 0; lo < n; lo += 2 * width) {
                int mid = Math.min(n, lo + width);
                int hi = Math.min(n, lo + 2 * width);
                int i = lo;
                int j = mid;
                int k = lo;
                while (i < mid && j < hi) {
                    tmp[k++] = compare(a[j], a[i]) < 0 ? a[j++] : a[i++];
                }
                while (i < mid) {
                    tmp[k++] = a[i++];
                }
                while (j < hi) {
                    tmp[k++] = a[j++];
                }
            }
            int[] s = a;
            a = tmp;
            tmp = s;
        }
        return a;
    }

    /**
     * The graph, in passes that each drop the parser arrays they used (the parser's state and the graph are never both
     * whole in memory: a million paths fit in a small heap).
     */
    private ClosureGraph build() {
        int n = count;
        declLine = null; // the checks that need these are done
        firstRefLine = null;
        firstRefBy = null;
        table = null;
        kh = null;
        int[] perm = sortedIds();
        int[] rank = new int[n];
        for (int p = 0; p < n; p++) {
            rank[perm[p]] = p;
        }
        byte[] names = new byte[arenaLen];
        int[] off = new int[n + 1];
        for (int p = 0; p < n; p++) {
            int id = perm[p];
            int l = nameLen(id);
            System.arraycopy(arena, nameOff[id], names, off[p], l);
            off[p + 1] = off[p] + l;
        }
        arena = null;
        nameOff = null;
        byte[] ders = new byte[derArenaLen];
        int[] doff = new int[n + 1];
        for (int p = 0; p < n; p++) {
            int id = perm[p];
            System.arraycopy(derArena, derStart[id], ders, doff[p], derLen[id]);
            doff[p + 1] = doff[p] + derLen[id];
        }
        derArena = null;
        derStart = null;
        derLen = null;
        long[] sizes = new long[n];
        for (int p = 0; p < n; p++) {
            sizes[p] = narSize[perm[p]];
        }
        narSize = null;
        byte[] kinds = new byte[n];
        boolean anySha = false;
        for (int p = 0; p < n; p++) {
            kinds[p] = hashKind[perm[p]];
            anySha |= kinds[p] == SHA256;
        }
        byte[] shas = new byte[anySha ? n * 32 : 0];
        Map<Integer, Hash> other = new HashMap<>();
        for (int p = 0; p < n; p++) {
            int id = perm[p];
            if (kinds[p] == SHA256) {
                System.arraycopy(sha, id * 32, shas, p * 32, 32);
            } else if (kinds[p] == OTHER_HASH) {
                other.put(p, otherHashes.get(id));
            }
        }
        sha = null;
        hashKind = null;
        int[] start = new int[n + 1];
        int[] refs = new int[rlen];
        int w = 0;
        for (int p = 0; p < n; p++) {
            int id = perm[p];
            start[p] = w;
            int from = rowStart[id];
            int to = from + rowLen[id];
            for (int k = from; k < to; k++) {
                refs[w + k - from] = rank[rrefs[k]];
            }
            int end = w + to - from;
            if (end - w > 1) {
                Arrays.sort(refs, w, end);
                int u = w + 1;
                for (int k = w + 1; k < end; k++) {
                    if (refs[k] != refs[u - 1]) {
                        refs[u++] = refs[k];
                    }
                }
                end = u;
            }
            w = end;
        }
        start[n] = w;
        if (w < refs.length) {
            refs = Arrays.copyOf(refs, w);
        }
        return new ClosureGraph(storeDir, source, n, names, off, sizes, kinds, shas, other, ders, doff, start, refs, List.of());
    }

    private StorePath storePath(int id) {
        int o = nameOff[id];
        int l = nameLen(id);
        return new StorePath(storeDir, new String(arena, o, 32, StandardCharsets.ISO_8859_1),
                new String(arena, o + 33, l - 33, StandardCharsets.ISO_8859_1));
    }

    /** The first dangling reference in file order, with every dangling reference and the rest as an open graph. */
    private NotClosedException notClosed() {
        int first = -1;
        for (int id = 0; id < count; id++) {
            if (declLine[id] == 0 && (first < 0 || firstRefLine[id] < firstRefLine[first])) {
                first = id;
            }
        }
        String message = UserError.at(source, firstRefLine[first], "the closure is not closed: " + storePath(first)
                + " is referenced by " + storePath(firstRefBy[first]) + " but is not in the closure").getMessage();
        List<PathInfo> infos = new ArrayList<>(declared);
        Set<StorePath> members = new HashSet<>();
        for (int id = 0; id < count; id++) {
            if (declLine[id] == 0) {
                continue;
            }
            List<StorePath> r = new ArrayList<>(rowLen[id]);
            for (int k = rowStart[id]; k < rowStart[id] + rowLen[id]; k++) {
                r.add(storePath(rrefs[k]));
            }
            Hash h = hashKind[id] == SHA256 ? Hash.sha256(Arrays.copyOfRange(sha, id * 32, id * 32 + 32))
                    : hashKind[id] == OTHER_HASH ? otherHashes.get(id) : null;
            StorePath d = null;
            if (derLen[id] > 0) {
                int o = derStart[id];
                d = new StorePath(storeDir, new String(derArena, o, 32, StandardCharsets.ISO_8859_1),
                        new String(derArena, o + 33, derLen[id] - 33, StandardCharsets.ISO_8859_1));
            }
            StorePath sp = storePath(id);
            infos.add(new PathInfo(sp, r, h, narSize[id], d));
            members.add(sp);
        }
        return NotClosedException.of(message, storeDir, source, infos, members, List.of());
    }
}
