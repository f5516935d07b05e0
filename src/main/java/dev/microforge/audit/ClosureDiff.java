package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The difference of two closures grouped by package, as {@code nix store diff-closures} computes it: paths are
 * grouped by {@link PackageName} name, then by version; for each package name the versions only before
 * ("removed"), only after ("added") and the change of the summed narSize. A package is listed when a version
 * was added or removed or its size changed by at least {@link #SHOW_DELTA} bytes (Nix's 8 KiB threshold);
 * the total delta always counts every path.
 *
 * <p>Works on the names' bytes ({@link Side}): {@link PackageName}'s split is done in place and package names and
 * versions are interned through open-addressing tables, so a million-path closure costs no String per path; Strings
 * are made only for the packages listed.
 */
public final class ClosureDiff {
    /** Size changes below this are not listed on their own (they still count in the total). */
    public static final long SHOW_DELTA = 8 * 1024;

    /** How a package changed. */
    public enum Change {
        ADDED, REMOVED, CHANGED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One package line: versions only before, versions only after, sizes (sums of narSize over all its paths). */
    public record Package(String name, Change change, List<String> versionsBefore, List<String> versionsAfter,
            long sizeBefore, long sizeAfter) {
        public Package {
            versionsBefore = List.copyOf(versionsBefore);
            versionsAfter = List.copyOf(versionsAfter);
        }

        public long sizeDelta() {
            return Math.subtractExact(sizeAfter, sizeBefore);
        }
    }

    /** Diff result: sizes of both closures and the listed packages, sorted by name (unsigned bytes = ASCII). */
    public record Result(int pathsBefore, long sizeBefore, int pathsAfter, long sizeAfter, List<Package> packages) {
        public Result {
            packages = List.copyOf(packages);
        }

        public long sizeDelta() {
            return Math.subtractExact(sizeAfter, sizeBefore);
        }
    }

    /** A store path name and its narSize, one member of a closure. */
    public record Member(String name, long narSize) {}

    /**
     * One closure's members for the diff, compact: member {@code i}'s store path name is the UTF-8 (for store paths:
     * ASCII) bytes {@code bytes[from[i] .. to[i])}, its narSize {@code sizes[i]}.
     */
    public static final class Side {
        private final byte[] bytes;
        private final int[] from;
        private final int[] to;
        private final long[] sizes;

        private Side(byte[] bytes, int[] from, int[] to, long[] sizes) {
            this.bytes = bytes;
            this.from = from;
            this.to = to;
            this.sizes = sizes;
        }

        public int size() {
            return from.length;
        }

        public static Side of(List<Member> members) {
            int n = members.size();
            byte[][] names = new byte[n][];
            int total = 0;
            for (int i = 0; i < n; i++) {
                names[i] = members.get(i).name().getBytes(StandardCharsets.UTF_8);
                total += names[i].length;
            }
            byte[] bytes = new byte[total];
            int[] from = new int[n];
            int[] to = new int[n];
            long[] sizes = new long[n];
            int at = 0;
            for (int i = 0; i < n; i++) {
                System.arraycopy(names[i], 0, bytes, at, names[i].length);
                from[i] = at;
                at += names[i].length;
                to[i] = at;
                sizes[i] = members.get(i).narSize();
            }
            return new Side(bytes, from, to, sizes);
        }

        /** The members {@code members[0 .. count)} of {@code g} (sharing its name bytes), with these sizes. */
        public static Side of(ClosureGraph g, int[] members, int count, long[] narSizes) {
            int[] off = g.nameOffsets();
            int[] from = new int[count];
            int[] to = new int[count];
            long[] sizes = new long[count];
            for (int i = 0; i < count; i++) {
                int v = members[i];
                from[i] = off[v] + StorePath.HASH_LENGTH + 1;
                to[i] = off[v + 1];
                sizes[i] = narSizes[v];
            }
            return new Side(g.nameBytes(), from, to, sizes);
        }
    }

    private ClosureDiff() {}

    public static Result compute(List<Member> before, List<Member> after) {
        return compute(Side.of(before), Side.of(after));
    }

    public static Result compute(Side before, Side after) {
        Interner packages = new Interner(1024);
        Interner versions = new Interner(1024);
        long[][] pkgSize = {new long[1024], new long[1024]};
        int[][] pkgCount = {new int[1024], new int[1024]};
        byte[] verSides = new byte[1024]; // bit 0: before, bit 1: after
        int[] verPkg = new int[1024];
        long[] total = new long[2];
        Side[] sides = {before, after};
        for (int s = 0; s < 2; s++) {
            Side side = sides[s];
            byte[] b = side.bytes;
            for (int i = 0; i < side.from.length; i++) {
                int f = side.from[i];
                int t = side.to[i];
                // the output name: after the last dash, [a-z]+ or lib32 or lib64
                int dash = t - 1;
                while (dash >= f && b[dash] != '-') {
                    dash--;
                }
                if (dash >= f && isOutputName(b, dash + 1, t)) {
                    t = dash;
                }
                // the version: after the first dash not followed by a letter
                int nameEnd = t;
                int verStart = t;
                for (int k = f; k + 1 < t; k++) {
                    if (b[k] == '-' && !isAsciiLetter(b[k + 1])) {
                        nameEnd = k;
                        verStart = k + 1;
                        break;
                    }
                }
                int pkg = packages.intern(-1, b, f, nameEnd);
                if (pkg >= pkgSize[0].length) {
                    int cap = pkgSize[0].length * 2;
                    for (int z = 0; z < 2; z++) {
                        pkgSize[z] = Arrays.copyOf(pkgSize[z], cap);
                        pkgCount[z] = Arrays.copyOf(pkgCount[z], cap);
                    }
                }
                int ver = versions.intern(pkg, b, verStart, t);
                if (ver >= verSides.length) {
                    verSides = Arrays.copyOf(verSides, verSides.length * 2);
                    verPkg = Arrays.copyOf(verPkg, verPkg.length * 2);
                }
                verPkg[ver] = pkg;
                verSides[ver] |= (byte) (1 << s);
                long size = Math.max(0, side.sizes[i]);
                pkgSize[s][pkg] = Math.addExact(pkgSize[s][pkg], size);
                pkgCount[s][pkg]++;
                total[s] = Math.addExact(total[s], size);
            }
        }
        // versions per package, in compressed rows
        int np = packages.size();
        int nv = versions.size();
        int[] start = new int[np + 1];
        for (int v = 0; v < nv; v++) {
            start[verPkg[v] + 1]++;
        }
        for (int p = 0; p < np; p++) {
            start[p + 1] += start[p];
        }
        int[] byPkg = new int[nv];
        int[] fill = Arrays.copyOf(start, np);
        for (int v = 0; v < nv; v++) {
            byPkg[fill[verPkg[v]]++] = v;
        }
        List<Package> out = new ArrayList<>();
        for (int p = 0; p < np; p++) {
            boolean changedVersions = false;
            for (int k = start[p]; k < start[p + 1]; k++) {
                changedVersions |= verSides[byPkg[k]] != 3;
            }
            long delta = Math.subtractExact(pkgSize[1][p], pkgSize[0][p]);
            if (!changedVersions && Math.abs(delta) < SHOW_DELTA) {
                continue;
            }
            List<String> removed = new ArrayList<>();
            List<String> added = new ArrayList<>();
            for (int k = start[p]; k < start[p + 1]; k++) {
                int v = byPkg[k];
                if (verSides[v] == 1) {
                    removed.add(versions.string(v));
                } else if (verSides[v] == 2) {
                    added.add(versions.string(v));
                }
            }
            removed.sort(Comparator.naturalOrder());
            added.sort(Comparator.naturalOrder());
            Change c = pkgCount[0][p] == 0 ? Change.ADDED : pkgCount[1][p] == 0 ? Change.REMOVED : Change.CHANGED;
            out.add(new Package(packages.string(p), c, removed, added, pkgSize[0][p], pkgSize[1][p]));
        }
        out.sort(Comparator.comparing(Package::name));
        return new Result(before.size(), total[0], after.size(), total[1], out);
    }

    /** {@link PackageName#isOutputName} on bytes: {@code [a-z]+|lib32|lib64}. */
    private static boolean isOutputName(byte[] b, int from, int to) {
        int len = to - from;
        if (len == 5 && b[from] == 'l' && b[from + 1] == 'i' && b[from + 2] == 'b'
                && ((b[from + 3] == '3' && b[from + 4] == '2') || (b[from + 3] == '6' && b[from + 4] == '4'))) {
            return true;
        }
        if (len == 0) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (b[i] < 'a' || b[i] > 'z') {
                return false;
            }
        }
        return true;
    }

    private static boolean isAsciiLetter(byte c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** Byte strings (optionally scoped by an int, e.g. the package of a version) to dense ids. */
    private static final class Interner {
        private int[] table;
        private int mask;
        private int count;
        private int[] scope;
        private int[] off;
        private int[] hashes;
        private byte[] arena;
        private int arenaLen;

        Interner(int cap) {
            table = new int[cap * 2];
            Arrays.fill(table, -1);
            mask = table.length - 1;
            scope = new int[cap];
            off = new int[cap + 1];
            hashes = new int[cap];
            arena = new byte[cap * 16];
        }

        int size() {
            return count;
        }

        String string(int id) {
            return new String(arena, off[id], off[id + 1] - off[id], StandardCharsets.UTF_8);
        }

        int intern(int sc, byte[] b, int from, int to) {
            int h = sc * 0x9E3779B9;
            for (int i = from; i < to; i++) {
                h = h * 31 + b[i];
            }
            h ^= h >>> 16;
            h *= 0x85EBCA6B;
            h ^= h >>> 13;
            int slot = h & mask;
            while (true) {
                int id = table[slot];
                if (id < 0) {
                    break;
                }
                if (hashes[id] == h && scope[id] == sc
                        && Arrays.equals(arena, off[id], off[id + 1], b, from, to)) {
                    return id;
                }
                slot = (slot + 1) & mask;
            }
            int id = count;
            if (id == scope.length) {
                int cap = scope.length * 2;
                scope = Arrays.copyOf(scope, cap);
                off = Arrays.copyOf(off, cap + 1);
                hashes = Arrays.copyOf(hashes, cap);
                table = new int[cap * 2];
                Arrays.fill(table, -1);
                mask = table.length - 1;
                for (int k = 0; k < count; k++) {
                    int s = hashes[k] & mask;
                    while (table[s] >= 0) {
                        s = (s + 1) & mask;
                    }
                    table[s] = k;
                }
                slot = h & mask;
                while (table[slot] >= 0) {
                    slot = (slot + 1) & mask;
                }
            }
            int len = to - from;
            if (arenaLen + len > arena.length) {
                arena = Arrays.copyOf(arena, Math.max(arena.length * 2, arenaLen + len));
            }
            System.arraycopy(b, from, arena, arenaLen, len);
            arenaLen += len;
            scope[id] = sc;
            hashes[id] = h;
            off[id + 1] = arenaLen;
            table[slot] = id;
            count++;
            return id;
        }
    }
}
