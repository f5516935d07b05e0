package dev.microforge.audit;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The reachable size of nodes of a graph in compressed rows (sum of the sizes of everything a node reaches, itself
 * included), for the size audit's top lists and added sizes: one node at a time or 64 at a time ({@link #of}). Sizes
 * below 0 count as 0. ({@link dev.microforge.closure.ClosureSizes} is Nix's closureSize of every path of a
 * {@code ClosureGraph}, -1 when a size in its closure is unknown.) Single nodes are found by a
 * breadth-first search that reuses its arrays: a visit stamp per node instead of a fresh set, so asking for the
 * top N of a million-path graph costs N linear searches and no allocation. Not for every node of a large graph.
 */
public final class ReachableSizes {
    private final int[] start;
    private final int[] targets;
    private final long[] sizes;
    private final int[] stamp;
    private final int[] queue;
    private int epoch;

    public ReachableSizes(int n, IntFunction<int[]> succ, long[] sizes) {
        this(n, Csr.of(n, succ), sizes);
    }

    private ReachableSizes(int n, int[][] csr, long[] sizes) {
        this(n, csr[0], csr[1], sizes);
    }

    /** On compressed rows ({@link Dominators#compute(int, int[], int[], int[], long[])}). */
    public ReachableSizes(int n, int[] start, int[] targets, long[] sizes) {
        this.start = start;
        this.targets = targets;
        this.sizes = sizes;
        this.stamp = new int[n];
        this.queue = new int[n];
    }

    public long closureSize(int node) {
        if (++epoch == Integer.MAX_VALUE) {
            Arrays.fill(stamp, 0);
            epoch = 1;
        }
        int head = 0;
        int tail = 0;
        stamp[node] = epoch;
        queue[tail++] = node;
        long sum = 0;
        while (head < tail) {
            int v = queue[head++];
            sum = Math.addExact(sum, Math.max(0, sizes[v]));
            for (int e = start[v]; e < start[v + 1]; e++) {
                int w = targets[e];
                if (stamp[w] != epoch) {
                    stamp[w] = epoch;
                    queue[tail++] = w;
                }
            }
        }
        return sum;
    }

    /**
     * The closure sizes of several nodes at once, 64 per round: each node's bit is propagated along the references in
     * {@code order} (the reverse postorder of a search that reached every node the given nodes reach, e.g.
     * {@link Dominators#reachableNode}); in that order every reference but a back edge (a cycle) goes forward, so one
     * pass settles an acyclic graph and further passes, until nothing changes, settle the cycles. Costs a few linear
     * passes instead of one search per node.
     */
    public static long[] of(int n, int[] start, int[] targets, long[] sizes, int[] nodes, int[] order) {
        long[] out = new long[nodes.length];
        long[] mask = new long[n];
        for (int base = 0; base < nodes.length; base += 64) {
            int k = Math.min(64, nodes.length - base);
            if (base > 0) {
                Arrays.fill(mask, 0);
            }
            for (int i = 0; i < k; i++) {
                mask[nodes[base + i]] |= 1L << i;
            }
            boolean changed = true;
            while (changed) {
                changed = false;
                for (int v : order) {
                    long m = mask[v];
                    if (m == 0) {
                        continue;
                    }
                    for (int e = start[v]; e < start[v + 1]; e++) {
                        int w = targets[e];
                        long old = mask[w];
                        if ((old | m) != old) {
                            mask[w] = old | m;
                            changed = true;
                        }
                    }
                }
            }
            for (int v : order) {
                long m = mask[v];
                long s = Math.max(0, sizes[v]);
                while (m != 0) {
                    int at = base + Long.numberOfTrailingZeros(m);
                    out[at] = Math.addExact(out[at], s);
                    m &= m - 1;
                }
            }
        }
        return out;
    }
}
