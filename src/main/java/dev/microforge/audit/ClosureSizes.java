package dev.microforge.audit;

import java.util.function.IntFunction;

/**
 * The closure size of single nodes (sum of sizes of everything the node reaches, itself included), by a
 * breadth-first search that reuses its arrays: a visit stamp per node instead of a fresh set, so asking for the
 * top N of a million-path graph costs N linear searches and no allocation. Not for every node of a large graph.
 */
public final class ClosureSizes {
    private final IntFunction<int[]> succ;
    private final long[] sizes;
    private final int[] stamp;
    private final int[] queue;
    private int epoch;

    public ClosureSizes(int n, IntFunction<int[]> succ, long[] sizes) {
        this.succ = succ;
        this.sizes = sizes;
        this.stamp = new int[n];
        this.queue = new int[n];
    }

    public long closureSize(int node) {
        if (++epoch == Integer.MAX_VALUE) {
            java.util.Arrays.fill(stamp, 0);
            epoch = 1;
        }
        int head = 0;
        int tail = 0;
        stamp[node] = epoch;
        queue[tail++] = node;
        long sum = 0;
        while (head < tail) {
            int v = queue[head++];
            sum += Math.max(0, sizes[v]);
            for (int w : succ.apply(v)) {
                if (stamp[w] != epoch) {
                    stamp[w] = epoch;
                    queue[tail++] = w;
                }
            }
        }
        return sum;
    }
}
