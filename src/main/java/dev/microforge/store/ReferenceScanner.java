package dev.microforge.store;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Nix's reference scanner ({@code RefScanSink}): the bytes of a NAR stream are searched for the 32-character
 * hash parts of candidate store paths. Like Nix, it looks at windows of 32 consecutive nix32 characters
 * anywhere in the stream (file contents, names, symlink targets, even across write boundaries) and reports
 * the candidates whose hash part occurs. A path that contains its own hash part refers to itself.
 *
 * <p>Speed: a window is checked from its last byte backwards; the first byte that is not a nix32 character
 * lets the search jump past it, so binary data is mostly skipped. Complete windows are looked up in an
 * open-addressing table keyed by 60 bits of the window (no allocation).
 *
 * <p>Write the NAR to it (it is an {@link OutputStream}); then {@link #found()}. Not thread-safe.
 */
public final class ReferenceScanner extends OutputStream {
    private static final int W = StorePath.HASH_LENGTH;
    private static final boolean[] VALID = new boolean[256];

    static {
        for (char c : Nix32.ALPHABET.toCharArray()) {
            VALID[c] = true;
        }
    }

    private final byte[][] candidates;
    private final int[] table;
    private final int mask;
    private final boolean[] seen;
    private int seenCount;
    /** The last up to 31 bytes of the previous write, for hashes split across writes. */
    private final byte[] tail = new byte[W - 1];
    private int tailLen;
    private final byte[] joint = new byte[2 * (W - 1)];

    /** @param hashParts the 32-character hash parts to look for (duplicates are ignored). */
    public ReferenceScanner(Collection<String> hashParts) {
        TreeSet<String> unique = new TreeSet<>(hashParts);
        List<byte[]> list = new ArrayList<>();
        for (String h : unique) {
            if (h.length() != W) {
                throw new IllegalArgumentException("hash part must be " + W + " characters: '" + h + "'");
            }
            byte[] b = h.getBytes(StandardCharsets.US_ASCII);
            for (byte x : b) {
                if (!VALID[x & 0xff]) {
                    throw new IllegalArgumentException("invalid nix32 character in hash part '" + h + "'");
                }
            }
            list.add(b);
        }
        candidates = list.toArray(new byte[0][]);
        int size = Integer.highestOneBit(Math.max(16, candidates.length * 4 - 1)) << 1;
        mask = size - 1;
        table = new int[size];
        Arrays.fill(table, -1);
        for (int i = 0; i < candidates.length; i++) {
            int slot = slot(key(candidates[i], 0));
            while (table[slot] >= 0) {
                slot = (slot + 1) & mask;
            }
            table[slot] = i;
        }
        seen = new boolean[candidates.length];
    }

    /** The hash parts of the candidates, one per store path. */
    public static List<String> hashPartsOf(Collection<StorePath> paths) {
        List<String> out = new ArrayList<>(paths.size());
        for (StorePath p : paths) {
            out.add(p.hashPart());
        }
        return out;
    }

    private static long key(byte[] b, int off) {
        long k = 0;
        for (int i = 0; i < 12; i++) {
            k = (k << 5) | (b[off + i] & 0x1f);
        }
        return k;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] data, int off, int len) {
        if (len <= 0 || candidates.length == 0) {
            return;
        }
        // windows that straddle the previous write and this one
        if (tailLen > 0) {
            int head = Math.min(len, W - 1);
            System.arraycopy(tail, 0, joint, 0, tailLen);
            System.arraycopy(data, off, joint, tailLen, head);
            search(joint, 0, tailLen + head);
        }
        search(data, off, len);
        // keep the last W-1 bytes of the stream
        if (len >= W - 1) {
            System.arraycopy(data, off + len - (W - 1), tail, 0, W - 1);
            tailLen = W - 1;
        } else {
            int keep = Math.min(tailLen, W - 1 - len);
            System.arraycopy(tail, tailLen - keep, tail, 0, keep);
            System.arraycopy(data, off, tail, keep, len);
            tailLen = keep + len;
        }
    }

    private void search(byte[] s, int off, int len) {
        final boolean[] valid = VALID;
        int end = off + len;
        int i = off;
        outer:
        while (i + W <= end) {
            for (int j = i + W - 1; j >= i; j--) {
                if (!valid[s[j] & 0xff]) {
                    i = j + 1;
                    continue outer;
                }
            }
            lookup(s, i);
            i++;
        }
    }

    private void lookup(byte[] s, int at) {
        int slot = slot(key(s, at));
        int idx;
        while ((idx = table[slot]) >= 0) {
            if (Arrays.equals(candidates[idx], 0, W, s, at, at + W)) {
                if (!seen[idx]) {
                    seen[idx] = true;
                    seenCount++;
                }
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /** The hash parts found so far, sorted. */
    public List<String> found() {
        List<String> out = new ArrayList<>(seenCount);
        for (int i = 0; i < candidates.length; i++) {
            if (seen[i]) {
                out.add(new String(candidates[i], StandardCharsets.US_ASCII));
            }
        }
        return out;
    }

    /** The candidate store paths whose hash part was found, sorted. */
    public List<StorePath> foundPaths(Collection<StorePath> candidatePaths) {
        Set<String> f = new HashSet<>(found());
        List<StorePath> out = new ArrayList<>();
        for (StorePath p : new TreeSet<>(candidatePaths)) {
            if (f.contains(p.hashPart())) {
                out.add(p);
            }
        }
        return out;
    }
}
