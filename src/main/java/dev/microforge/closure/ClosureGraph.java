package dev.microforge.closure;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable closure: store paths sorted by path, each with its references, and an int-indexed
 * adjacency for graph algorithms that must scale to millions of paths. A graph is closed: every
 * reference is a member (checked on construction, with a message naming both ends).
 */
public final class ClosureGraph {
    private final String storeDir;
    private final String source;
    private final List<PathInfo> paths;
    private final Map<StorePath, Integer> index;
    private final int[][] refs;
    private final List<StorePath> declaredRoots;

    private ClosureGraph(String storeDir, String source, List<PathInfo> paths, Map<StorePath, Integer> index,
            int[][] refs, List<StorePath> declaredRoots) {
        this.storeDir = storeDir;
        this.source = source;
        this.paths = paths;
        this.index = index;
        this.refs = refs;
        this.declaredRoots = declaredRoots;
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
        int[][] refs = new int[sorted.length][];
        for (int i = 0; i < sorted.length; i++) {
            List<StorePath> r = sorted[i].references();
            int[] a = new int[r.size()];
            for (int j = 0; j < a.length; j++) {
                Integer k = index.get(r.get(j));
                if (k == null) {
                    throw new UserError(source + ": the closure is not closed: " + r.get(j) + " is referenced by "
                            + sorted[i].path() + " but is not in the closure");
                }
                a[j] = k;
            }
            refs[i] = a;
        }
        List<StorePath> roots = new ArrayList<>();
        for (StorePath r : declaredRoots) {
            if (!index.containsKey(r)) {
                throw new UserError(source + ": root " + r + " is not in the closure");
            }
            if (!roots.contains(r)) {
                roots.add(r);
            }
        }
        Collections.sort(roots);
        return new ClosureGraph(storeDir, source, List.of(sorted), Collections.unmodifiableMap(index), refs, List.copyOf(roots));
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

    /** All members, sorted by path. */
    public List<PathInfo> paths() {
        return paths;
    }

    public int size() {
        return paths.size();
    }

    public Optional<PathInfo> get(StorePath p) {
        Integer i = index.get(p);
        return i == null ? Optional.empty() : Optional.of(paths.get(i));
    }

    public boolean contains(StorePath p) {
        return index.containsKey(p);
    }

    /** Index of a member in {@link #paths()}, or -1. */
    public int indexOf(StorePath p) {
        Integer i = index.get(p);
        return i == null ? -1 : i;
    }

    public PathInfo at(int i) {
        return paths.get(i);
    }

    /** References of member {@code i} as indexes (do not modify). */
    public int[] referencesOf(int i) {
        return refs[i];
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
        boolean[] referenced = new boolean[refs.length];
        for (int i = 0; i < refs.length; i++) {
            for (int j : refs[i]) {
                if (j != i) {
                    referenced[j] = true;
                }
            }
        }
        List<StorePath> out = new ArrayList<>();
        for (int i = 0; i < refs.length; i++) {
            if (!referenced[i]) {
                out.add(paths.get(i).path());
            }
        }
        if (out.isEmpty()) {
            for (PathInfo p : paths) {
                out.add(p.path());
            }
        }
        return List.copyOf(out);
    }

    /** A copy with the given infos replaced (same paths, e.g. sizes filled in from disk). */
    public ClosureGraph withInfos(Collection<PathInfo> infos) {
        return of(storeDir, source, infos, declaredRoots);
    }

    /** A copy with declared roots. */
    public ClosureGraph withRoots(Collection<StorePath> roots) {
        return of(storeDir, source, paths, roots);
    }
}
