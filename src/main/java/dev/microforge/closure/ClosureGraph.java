package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * An immutable closure: store paths sorted by path, each with its references, held in a compact int-indexed form
 * that scales to millions of paths: the base names ({@code <hash>-<name>}) of all members in one byte arena, narSize
 * in a {@code long[]}, sha256 narHashes in one byte array, references in compressed rows ({@link #refStarts()},
 * {@link #refTargets()}). No object per path exists until one is asked for ({@link #at(int)}, {@link #paths()} build
 * {@link PathInfo} values on demand). A graph is closed: every reference is a member (checked on construction, with
 * a message naming both ends).
 */
public final class ClosureGraph {
    private static final byte NO_HASH = 0;
    private static final byte SHA256 = 1;
    private static final byte OTHER_HASH = 2;

    private final String storeDir;
    private final String source;
    private final int n;
    private final byte[] names; // base names, sorted, back to back
    private final int[] nameOff; // n + 1
    private final long[] narSize; // -1 unknown
    private final byte[] hashKind; // NO_HASH, SHA256, OTHER_HASH
    private final byte[] sha256; // 32 bytes per member (zero when not SHA256)
    private final Map<Integer, Hash> otherHashes;
    private final byte[] derivers; // deriver base names, back to back (empty = unknown)
    private final int[] derOff; // n + 1
    private final int[] refStart; // n + 1
    private final int[] refs; // sorted, distinct per row
    private final List<StorePath> declaredRoots;
    private volatile List<PathInfo> materialized;

    ClosureGraph(String storeDir, String source, int n, byte[] names, int[] nameOff, long[] narSize, byte[] hashKind,
            byte[] sha256, Map<Integer, Hash> otherHashes, byte[] derivers, int[] derOff, int[] refStart, int[] refs,
            List<StorePath> declaredRoots) {
        this.storeDir = storeDir;
        this.source = source;
        this.n = n;
        this.names = names;
        this.nameOff = nameOff;
        this.narSize = narSize;
        this.hashKind = hashKind;
        this.sha256 = sha256;
        this.otherHashes = otherHashes;
        this.derivers = derivers;
        this.derOff = derOff;
        this.refStart = refStart;
        this.refs = refs;
        this.declaredRoots = declaredRoots;
        checkTotalSize();
    }

    /**
     * The known narSizes must add up to at most {@link Long#MAX_VALUE}: then every sum of sizes over members (a closure
     * size, an added size, a total, one side of a diff) fits in a long. More is bad input, reported naming the file
     * and the path at which the sum overflows.
     */
    private void checkTotalSize() {
        long total = 0;
        for (int i = 0; i < n; i++) {
            long s = narSize[i];
            if (s > 0) {
                total += s;
                if (total < 0) {
                    throw new UserError(source + ": the narSizes add up to more than " + Long.MAX_VALUE
                            + " bytes (2^63 - 1) at " + pathString(i) + " (narSize " + s + "): the sizes are wrong");
                }
            }
        }
    }

    /** The sum of the known narSizes of all members (it fits: see the construction check). */
    public long totalNarSize() {
        long total = 0;
        for (int i = 0; i < n; i++) {
            total += Math.max(0, narSize[i]);
        }
        return total;
    }

    /**
     * Builds a graph. {@code source} names where it came from (used in error messages). Duplicate entries
     * for the same path must agree; a reference to a path that is not a member is an error naming the
     * missing path and who refers to it. {@code declaredRoots} may be empty (then {@link #roots()} computes them).
     */
    public static ClosureGraph of(String storeDir, String source, Collection<PathInfo> infos, Collection<StorePath> declaredRoots) {
        Map<StorePath, PathInfo> byPath = new HashMap<>(infos.size() * 2);
        for (PathInfo pi : infos) {
            if (!pi.path().storeDir().equals(storeDir)) {
                throw new UserError(source + ": path " + pi.path() + " is not in the store directory " + storeDir);
            }
            PathInfo prev = byPath.putIfAbsent(pi.path(), pi);
            if (prev != null && !prev.references().equals(pi.references())) {
                throw new UserError(source + ": path " + pi.path() + " is listed twice with different references");
            }
        }
        PathInfo[] sorted = byPath.values().toArray(new PathInfo[0]);
        Arrays.sort(sorted, (a, b) -> a.path().compareTo(b.path()));
        Map<StorePath, Integer> index = new HashMap<>(sorted.length * 2);
        for (int i = 0; i < sorted.length; i++) {
            index.put(sorted[i].path(), i);
        }
        int n = sorted.length;
        int[] refStart = new int[n + 1];
        for (int i = 0; i < n; i++) {
            refStart[i + 1] = refStart[i] + sorted[i].references().size();
        }
        int[] refs = new int[refStart[n]];
        for (int i = 0; i < n; i++) {
            List<StorePath> r = sorted[i].references();
            for (int j = 0; j < r.size(); j++) {
                Integer k = index.get(r.get(j));
                if (k == null) {
                    throw new UserError(source + ": the closure is not closed: " + r.get(j) + " is referenced by "
                            + sorted[i].path() + " but is not in the closure");
                }
                refs[refStart[i] + j] = k; // references are sorted by path, so the indexes are ascending
            }
        }
        List<StorePath> roots = checkRoots(source, declaredRoots, index::containsKey);
        int nameBytes = 0;
        int derBytes = 0;
        for (PathInfo pi : sorted) {
            nameBytes += pi.path().baseName().length();
            derBytes += pi.deriver() == null ? 0 : pi.deriver().baseName().length();
        }
        byte[] names = new byte[nameBytes];
        int[] nameOff = new int[n + 1];
        byte[] derivers = new byte[derBytes];
        int[] derOff = new int[n + 1];
        long[] narSize = new long[n];
        byte[] hashKind = new byte[n];
        byte[] sha = new byte[n * 32];
        Map<Integer, Hash> other = new HashMap<>();
        for (int i = 0; i < n; i++) {
            PathInfo pi = sorted[i];
            byte[] b = pi.path().baseName().getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(b, 0, names, nameOff[i], b.length);
            nameOff[i + 1] = nameOff[i] + b.length;
            if (pi.deriver() != null) {
                byte[] d = pi.deriver().baseName().getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(d, 0, derivers, derOff[i], d.length);
                derOff[i + 1] = derOff[i] + d.length;
            } else {
                derOff[i + 1] = derOff[i];
            }
            narSize[i] = pi.narSize();
            Hash h = pi.narHash();
            if (h == null) {
                hashKind[i] = NO_HASH;
            } else if (h.algorithm().equals("sha256")) {
                hashKind[i] = SHA256;
                System.arraycopy(h.bytes(), 0, sha, i * 32, 32);
            } else {
                hashKind[i] = OTHER_HASH;
                other.put(i, h);
            }
        }
        ClosureGraph g = new ClosureGraph(storeDir, source, n, names, nameOff, narSize, hashKind, sha, other, derivers, derOff,
                refStart, refs, roots);
        g.materialized = List.of(sorted);
        return g;
    }

    private static List<StorePath> checkRoots(String source, Collection<StorePath> declaredRoots,
            Predicate<StorePath> member) {
        List<StorePath> roots = new ArrayList<>();
        for (StorePath r : declaredRoots) {
            if (!member.test(r)) {
                throw new UserError(source + ": root " + r + " is not in the closure");
            }
            if (!roots.contains(r)) {
                roots.add(r);
            }
        }
        Collections.sort(roots);
        return List.copyOf(roots);
    }

    public static ClosureGraph of(String storeDir, String source, Collection<PathInfo> infos) {
        return of(storeDir, source, infos, List.of());
    }

    public String storeDir() {
        return storeDir;
    }

    /** Where the graph was read from, for messages. */
    public String source() {
        return source;
    }

    /** All members, sorted by path (built on first use, then kept). */
    public List<PathInfo> paths() {
        List<PathInfo> m = materialized;
        if (m == null) {
            PathInfo[] a = new PathInfo[n];
            for (int i = 0; i < n; i++) {
                a[i] = build(i);
            }
            m = List.of(a);
            materialized = m;
        }
        return m;
    }

    public int size() {
        return n;
    }

    public Optional<PathInfo> get(StorePath p) {
        int i = indexOf(p);
        return i < 0 ? Optional.empty() : Optional.of(at(i));
    }

    public boolean contains(StorePath p) {
        return indexOf(p) >= 0;
    }

    /** Index of a member in {@link #paths()}, or -1 (a binary search on the base names). */
    public int indexOf(StorePath p) {
        if (!p.storeDir().equals(storeDir)) {
            return -1;
        }
        byte[] key = p.baseName().getBytes(StandardCharsets.US_ASCII);
        int lo = 0;
        int hi = n - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(names, nameOff[mid], nameOff[mid + 1], key, 0, key.length);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /** Member {@code i} as a {@link PathInfo} (built on demand unless {@link #paths()} already built them all). */
    public PathInfo at(int i) {
        List<PathInfo> m = materialized;
        if (m != null) {
            return m.get(i);
        }
        Objects.checkIndex(i, n);
        return build(i);
    }

    private PathInfo build(int i) {
        List<StorePath> r = new ArrayList<>(refStart[i + 1] - refStart[i]);
        for (int k = refStart[i]; k < refStart[i + 1]; k++) {
            r.add(storePath(refs[k]));
        }
        return new PathInfo(storePath(i), r, narHash(i), narSize[i], deriver(i));
    }

    /** The store path of member {@code i}. */
    public StorePath storePath(int i) {
        int o = nameOff[i];
        return new StorePath(storeDir, new String(names, o, StorePath.HASH_LENGTH, StandardCharsets.ISO_8859_1),
                new String(names, o + StorePath.HASH_LENGTH + 1, nameOff[i + 1] - o - StorePath.HASH_LENGTH - 1,
                        StandardCharsets.ISO_8859_1));
    }

    /** The full path of member {@code i} as text. */
    public String pathString(int i) {
        return storeDir + "/" + new String(names, nameOff[i], nameOff[i + 1] - nameOff[i], StandardCharsets.ISO_8859_1);
    }

    /** The name of member {@code i} (the part after {@code <hash>-}). */
    public String name(int i) {
        int o = nameOff[i] + StorePath.HASH_LENGTH + 1;
        return new String(names, o, nameOff[i + 1] - o, StandardCharsets.ISO_8859_1);
    }

    /**
     * The arena of base names ({@code <hash>-<name>}, ASCII) and the offsets of each member's base name in it:
     * member {@code i} is {@code nameBytes()[nameOffsets()[i] .. nameOffsets()[i + 1])}. Do not modify.
     */
    public byte[] nameBytes() {
        return names;
    }

    /** See {@link #nameBytes()}. Do not modify. */
    public int[] nameOffsets() {
        return nameOff;
    }

    /** narSize of member {@code i}, -1 when unknown. */
    public long narSize(int i) {
        return narSize[i];
    }

    /** narHash of member {@code i}, or null when unknown. */
    public Hash narHash(int i) {
        return switch (hashKind[i]) {
            case SHA256 -> Hash.sha256(Arrays.copyOfRange(sha256, i * 32, i * 32 + 32));
            case OTHER_HASH -> otherHashes.get(i);
            default -> null;
        };
    }

    /** The deriver of member {@code i}, or null when unknown. */
    public StorePath deriver(int i) {
        int o = derOff[i];
        if (derOff[i + 1] == o) {
            return null;
        }
        return new StorePath(storeDir, new String(derivers, o, StorePath.HASH_LENGTH, StandardCharsets.ISO_8859_1),
                new String(derivers, o + StorePath.HASH_LENGTH + 1, derOff[i + 1] - o - StorePath.HASH_LENGTH - 1,
                        StandardCharsets.ISO_8859_1));
    }

    /** References of member {@code i} as ascending indexes (a fresh copy; graph algorithms use {@link #refTargets()}). */
    public int[] referencesOf(int i) {
        return Arrays.copyOfRange(refs, refStart[i], refStart[i + 1]);
    }

    /**
     * Compressed rows of the references: member {@code i} refers to {@code refTargets()[refStarts()[i] ..
     * refStarts()[i + 1])}, ascending, no duplicates (self-references kept). Length {@code size() + 1}. Do not modify.
     */
    public int[] refStarts() {
        return refStart;
    }

    /** See {@link #refStarts()}. Do not modify. */
    public int[] refTargets() {
        return refs;
    }

    /** The roots the file declared (closureInfo store-paths, --root), possibly empty. */
    public List<StorePath> declaredRoots() {
        return declaredRoots;
    }

    /**
     * The roots: the declared ones, or else every path that no other path refers to (self-references do not
     * count). A graph whose paths are all on cycles has no such path; then every path is a root.
     */
    public List<StorePath> roots() {
        if (!declaredRoots.isEmpty()) {
            return declaredRoots;
        }
        boolean[] referenced = new boolean[n];
        for (int i = 0; i < n; i++) {
            for (int k = refStart[i]; k < refStart[i + 1]; k++) {
                if (refs[k] != i) {
                    referenced[refs[k]] = true;
                }
            }
        }
        List<StorePath> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!referenced[i]) {
                out.add(storePath(i));
            }
        }
        if (out.isEmpty()) {
            for (int i = 0; i < n; i++) {
                out.add(storePath(i));
            }
        }
        return List.copyOf(out);
    }

    /** {@link #roots()} as member indexes, ascending (no object per root: a million roots cost an int[]). */
    public int[] rootIndexes() {
        if (!declaredRoots.isEmpty()) {
            int[] out = new int[declaredRoots.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = indexOf(declaredRoots.get(i));
            }
            return out; // declared roots are sorted, so are their indexes
        }
        boolean[] referenced = new boolean[n];
        int count = n;
        for (int i = 0; i < n; i++) {
            for (int k = refStart[i]; k < refStart[i + 1]; k++) {
                int r = refs[k];
                if (r != i && !referenced[r]) {
                    referenced[r] = true;
                    count--;
                }
            }
        }
        if (count == 0) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] out = new int[count];
        int w = 0;
        for (int i = 0; i < n; i++) {
            if (!referenced[i]) {
                out[w++] = i;
            }
        }
        return out;
    }

    /** A copy with the given infos replaced (same paths, e.g. sizes filled in from disk). */
    public ClosureGraph withInfos(Collection<PathInfo> infos) {
        return of(storeDir, source, infos, declaredRoots);
    }

    /** A copy with declared roots (the compact arrays are shared). */
    public ClosureGraph withRoots(Collection<StorePath> roots) {
        List<StorePath> r = checkRoots(source, roots, this::contains);
        ClosureGraph g = new ClosureGraph(storeDir, source, n, names, nameOff, narSize, hashKind, sha256, otherHashes,
                derivers, derOff, refStart, refs, r);
        g.materialized = materialized;
        return g;
    }
}
