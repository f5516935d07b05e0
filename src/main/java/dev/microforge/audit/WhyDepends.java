package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.store.StorePath;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code audit why A B}: why {@code B} is in {@code A}'s closure, drawn as {@code nix why-depends} draws it (the same
 * tree characters, {@code ├───}, {@code └───}, {@code │}; references ordered by their distance to {@code B}, then by
 * path). Two views:
 * <ul>
 * <li>shortest (default): every shortest chain from A to B, the tree of them fully expanded (each chain is one line
 *     from the top to a leaf), at most {@code limit} chains;</li>
 * <li>all ({@code nix why-depends --all}): every reference on some chain from A to B; a path already expanded is
 *     printed again but not expanded a second time, as Nix does.</li>
 * </ul>
 * With {@code precise}, as {@code --precise}: under each reference, every file of the referring path that holds the
 * referenced hash, with the 32 bytes on either side of the first occurrence (unprintable bytes as {@code .}), or the
 * symlink and its target; then {@code → path}.
 */
public final class WhyDepends {
    static final String CONN = "├───";
    static final String LAST = "└───";
    static final String LINE = "│   ";
    static final String NULL = "    ";
    static final int MARGIN = 32;
    static final int INF = Integer.MAX_VALUE;

    private final ClosureGraph g;
    private final int source;
    private final int target;
    private final boolean precise;
    private final Path realStore;
    private final int[] distToTarget;
    private final StringBuilder out = new StringBuilder();

    private WhyDepends(ClosureGraph g, int source, int target, boolean precise, Path realStore) {
        this.g = g;
        this.source = source;
        this.target = target;
        this.precise = precise;
        this.realStore = realStore;
        this.distToTarget = distancesTo(g, target);
    }

    /** Distance (references to follow) from every member to {@code target}; {@link #INF} when it does not reach it. */
    static int[] distancesTo(ClosureGraph g, int target) {
        int n = g.size();
        int[] start = g.refStarts();
        int[] targets = g.refTargets();
        int[] rstart = new int[n + 1];
        for (int e = 0; e < targets.length; e++) {
            rstart[targets[e] + 1]++;
        }
        for (int i = 0; i < n; i++) {
            rstart[i + 1] += rstart[i];
        }
        int[] rsrc = new int[targets.length];
        int[] fill = new int[n];
        for (int v = 0; v < n; v++) {
            for (int e = start[v]; e < start[v + 1]; e++) {
                rsrc[rstart[targets[e]] + fill[targets[e]]++] = v;
            }
        }
        int[] dist = new int[n];
        Arrays.fill(dist, INF);
        int[] queue = new int[n];
        int head = 0;
        int tail = 0;
        dist[target] = 0;
        queue[tail++] = target;
        while (head < tail) {
            int v = queue[head++];
            for (int e = rstart[v]; e < rstart[v + 1]; e++) {
                int u = rsrc[e];
                if (dist[u] == INF) {
                    dist[u] = dist[v] + 1;
                    queue[tail++] = u;
                }
            }
        }
        return dist;
    }

    /**
     * @param realStore where the store paths are on disk (for {@code precise}); ignored otherwise
     * @param limit     at most this many chains in the shortest view
     */
    public static String render(ClosureGraph g, int from, int to, boolean all, boolean precise, Path realStore, int limit) {
        WhyDepends w = new WhyDepends(g, from, to, precise, realStore);
        if (w.distToTarget[from] == INF) {
            throw new UserError(g.pathString(from) + " does not depend on " + g.pathString(to));
        }
        if (all) {
            w.print(from, true, 0);
        } else {
            int chains = w.countChains(from, limit);
            w.print(from, false, limit);
            int len = w.distToTarget[from];
            w.out.append(chains > limit ? "first " + limit + " of more than " + limit : String.valueOf(chains))
                    .append(chains == 1 ? " shortest chain, " : " shortest chains, ").append(len)
                    .append(len == 1 ? " reference long\n" : " references long\n");
        }
        return w.out.toString();
    }

    /**
     * References of {@code v} that lead to the target, by distance to it, then path order; self-references left out
     * unless the source is the target (as Nix does).
     */
    private int[] refs(int v, boolean shortestOnly) {
        List<Integer> r = new ArrayList<>();
        for (int w : g.referencesOf(v)) {
            if (w == v && source != target || distToTarget[w] == INF || r.contains(w)) {
                continue;
            }
            if (shortestOnly && distToTarget[w] != distToTarget[v] - 1) {
                continue;
            }
            r.add(w);
        }
        r.sort((a, b) -> distToTarget[a] != distToTarget[b] ? Integer.compare(distToTarget[a], distToTarget[b]) : Integer.compare(a, b));
        return r.stream().mapToInt(Integer::intValue).toArray();
    }

    private void line(String firstPad, int v) {
        out.append(firstPad).append(precise && !firstPad.isEmpty() ? "→ " : "").append(g.pathString(v)).append('\n');
    }

    /** A path being expanded: its references to draw, the next one, and the files holding them. */
    private static final class Frame {
        final String tailPad;
        final int[] refs;
        final Map<String, List<String>> hits;
        int next;

        Frame(String tailPad, int[] refs, Map<String, List<String>> hits) {
            this.tailPad = tailPad;
            this.refs = refs;
            this.hits = hits;
        }
    }

    /**
     * Prints the tree from {@code root} depth first with an explicit stack (no recursion: a chain thousands of paths
     * deep cannot overflow the stack). {@code all}: every reference that leads to the target, a path expanded once;
     * else only the references on shortest chains, every path expanded, until {@code limit} chains are printed.
     */
    private void print(int root, boolean all, int limit) {
        boolean[] visited = new boolean[g.size()];
        int[] budget = {limit};
        ArrayDeque<Frame> stack = new ArrayDeque<>();
        Frame f0 = enter(root, "", "", all, visited, budget);
        if (f0 != null) {
            stack.push(f0);
        }
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (f.next >= f.refs.length || (!all && budget[0] <= 0)) {
                stack.pop();
                continue;
            }
            int r = f.refs[f.next];
            boolean last = f.next == f.refs.length - 1;
            f.next++;
            printHits(f.hits, r, f.tailPad, last);
            Frame child = enter(r, f.tailPad + (precise ? (last ? NULL : LINE) : (last ? LAST : CONN)),
                    f.tailPad + (last ? NULL : LINE), all, visited, budget);
            if (child != null) {
                stack.push(child);
            }
        }
    }

    /** Prints the line of {@code v}; the frame to expand it, or null when it is not expanded here. */
    private Frame enter(int v, String firstPad, String tailPad, boolean all, boolean[] visited, int[] budget) {
        line(firstPad, v);
        if (all) {
            if (visited[v]) {
                return null;
            }
            visited[v] = true;
        } else if (v == target) {
            budget[0]--;
            return null;
        }
        int[] refs = refs(v, !all);
        return new Frame(tailPad, refs, precise ? hits(v, refs) : Map.of());
    }

    /** The number of shortest chains from {@code v}, counting stops past {@code cap}. */
    private int countChains(int v, int cap) {
        long[] memo = new long[g.size()];
        Arrays.fill(memo, -1);
        // distances strictly decrease along shortest references: an explicit stack over a DAG
        ArrayDeque<Integer> stack = new ArrayDeque<>();
        stack.push(v);
        while (!stack.isEmpty()) {
            int x = stack.peek();
            if (memo[x] >= 0) {
                stack.pop();
                continue;
            }
            if (x == target) {
                memo[x] = 1;
                stack.pop();
                continue;
            }
            boolean ready = true;
            long sum = 0;
            for (int w : refs(x, true)) {
                if (memo[w] < 0) {
                    ready = false;
                    stack.push(w);
                } else {
                    sum = Math.min((long) cap + 1, sum + memo[w]);
                }
            }
            if (ready) {
                memo[x] = sum;
                stack.pop();
            }
        }
        return (int) Math.min(cap + 1L, memo[v]);
    }

    private void printHits(Map<String, List<String>> hits, int ref, String tailPad, boolean last) {
        if (!precise) {
            return;
        }
        List<String> hs = hits.getOrDefault(g.storePath(ref).hashPart(), List.of());
        for (int j = 0; j < hs.size(); j++) {
            out.append(tailPad).append(j == 0 ? (last ? LAST : CONN) : (last ? NULL : LINE)).append(hs.get(j)).append('\n');
        }
    }

    /** For each referenced hash, the files of {@code v} holding it, in Nix's order (directory entries sorted by bytes). */
    private Map<String, List<String>> hits(int v, int[] refs) {
        Map<String, List<String>> hits = new LinkedHashMap<>();
        List<byte[]> hashes = new ArrayList<>();
        for (int r : refs) {
            hashes.add(g.storePath(r).hashPart().getBytes(StandardCharsets.US_ASCII));
        }
        Path root = realStore.resolve(g.storePath(v).baseName());
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            throw new UserError(root + ": store path not found on disk (give --real-store)");
        }
        try {
            visit(root, root, hashes, hits);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return hits;
    }

    /** Bytes read at a time when a file is searched for hashes. */
    static final int CHUNK = 1 << 20;

    /**
     * Walks the tree under {@code root} in Nix's order (pre-order, directory entries sorted by bytes) with an explicit
     * stack, so any depth is fine; names and link targets go through {@link RawNames#display}.
     */
    private static void visit(Path root, Path start, List<byte[]> hashes, Map<String, List<String>> hits) throws IOException {
        ArrayDeque<Path> stack = new ArrayDeque<>();
        stack.push(start);
        while (!stack.isEmpty()) {
            Path p = stack.pop();
            BasicFileAttributes st = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            String rel = p.equals(root) ? "/" : RawNames.display(RawNames.bytes(root.relativize(p)));
            if (st.isDirectory()) {
                List<Path> kids;
                try (Stream<Path> s = Files.list(p)) {
                    kids = new ArrayList<>(s.toList());
                }
                kids.sort((x, y) -> Arrays.compareUnsigned(RawNames.name(x), RawNames.name(y)));
                for (int i = kids.size() - 1; i >= 0; i--) {
                    stack.push(kids.get(i));
                }
            } else if (st.isRegularFile()) {
                scanFile(p, rel, hashes, hits);
            } else if (st.isSymbolicLink()) {
                byte[] target = RawNames.bytes(Files.readSymbolicLink(p));
                for (byte[] h : hashes) {
                    if (indexOf(target, target.length, h, 0) >= 0) {
                        hits.computeIfAbsent(new String(h, StandardCharsets.US_ASCII), k -> new ArrayList<>())
                                .add(rel + " -> " + RawNames.display(target));
                    }
                }
            }
        }
    }

    /**
     * The first occurrence of each hash in the file, read {@link #CHUNK} bytes at a time (consecutive chunks overlap by
     * a hash length less one byte, so a hash across a boundary is found), and the {@link #MARGIN} bytes around it
     * read back for the snippet.
     */
    private static void scanFile(Path p, String rel, List<byte[]> hashes, Map<String, List<String>> hits) throws IOException {
        int overlap = 0;
        for (byte[] h : hashes) {
            overlap = Math.max(overlap, h.length - 1);
        }
        long[] at = new long[hashes.size()];
        Arrays.fill(at, -1);
        int left = hashes.size();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[CHUNK + overlap];
            ByteBuffer bb = ByteBuffer.wrap(buf);
            long base = 0;
            int keep = 0;
            while (left > 0) {
                bb.clear().position(keep);
                while (bb.hasRemaining() && ch.read(bb) >= 0) {
                    // fill the buffer up to the end of the file
                }
                int n = bb.position();
                for (int i = 0; i < at.length; i++) {
                    if (at[i] < 0) {
                        int pos = indexOf(buf, n, hashes.get(i), 0);
                        if (pos >= 0) {
                            at[i] = base + pos;
                            left--;
                        }
                    }
                }
                if (bb.hasRemaining()) {
                    break;
                }
                keep = Math.min(overlap, n);
                System.arraycopy(buf, n - keep, buf, 0, keep);
                base += n - keep;
            }
            for (int i = 0; i < at.length; i++) {
                if (at[i] < 0) {
                    continue;
                }
                byte[] h = hashes.get(i);
                long from = Math.max(0, at[i] - MARGIN);
                ByteBuffer snip = ByteBuffer.allocate((int) (at[i] - from) + h.length + MARGIN);
                while (snip.hasRemaining() && ch.read(snip, from + snip.position()) >= 0) {
                    // up to MARGIN bytes after the hash, fewer at the end of the file
                }
                StringBuilder sb = new StringBuilder();
                for (int j = 0; j < snip.position(); j++) {
                    int c = snip.get(j) & 0xff;
                    sb.append(c >= 0x20 && c < 0x7f ? (char) c : '.');
                }
                hits.computeIfAbsent(new String(h, StandardCharsets.US_ASCII), k -> new ArrayList<>())
                        .add(rel + ": …" + sb + "…");
            }
        }
    }

    /** The first index at or after {@code from} of {@code needle} in {@code hay[0, len)}, or -1. */
    static int indexOf(byte[] hay, int len, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= len; i++) {
            if (hay[i] != needle[0]) {
                continue;
            }
            for (int j = 1; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * A member named by {@code spec}: a store path (or a symlink to one, such as {@code ./result}), a base name
     * {@code <hash>-<name>}, or a name ({@code libbig-1.0}) that exactly one member has.
     */
    public static int resolve(ClosureGraph g, String spec, String what) {
        String s = spec;
        Path p = Path.of(spec);
        if (!spec.startsWith(g.storeDir() + "/") && Files.isSymbolicLink(p)) {
            try {
                s = p.toRealPath().toString();
            } catch (IOException e) {
                throw new UserError(what + " " + spec + ": " + e.getMessage());
            }
        }
        if (s.startsWith(g.storeDir() + "/")) {
            int i = g.indexOf(StorePath.parseAt(g.storeDir(), s, what));
            if (i < 0) {
                throw new UserError(what + " " + spec + ": not in the closure (" + g.source() + ")");
            }
            return i;
        }
        List<Integer> found = new ArrayList<>();
        for (int v = 0; v < g.size(); v++) {
            if (g.storePath(v).baseName().equals(s) || g.name(v).equals(s)) {
                found.add(v);
            }
        }
        if (found.size() == 1) {
            return found.get(0);
        }
        if (found.isEmpty()) {
            throw new UserError(what + " " + spec + ": no path of that name in the closure (" + g.source() + ")");
        }
        throw new UserError(what + " " + spec + ": " + found.size() + " paths of that name in the closure: "
                + String.join(", ", found.stream().map(g::pathString).toList()));
    }
}
