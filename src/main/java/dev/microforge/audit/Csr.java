package dev.microforge.audit;

import java.util.function.IntFunction;

/** Compressed rows from a successor function (for callers that have adjacency as arrays per node). */
final class Csr {
    private Csr() {}

    /** {@code {start, targets}}: node v's successors are {@code targets[start[v] .. start[v + 1])}. */
    static int[][] of(int n, IntFunction<int[]> succ) {
        int[] start = new int[n + 1];
        for (int v = 0; v < n; v++) {
            start[v + 1] = start[v] + succ.apply(v).length;
        }
        int[] targets = new int[start[n]];
        for (int v = 0; v < n; v++) {
            int[] s = succ.apply(v);
            System.arraycopy(s, 0, targets, start[v], s.length);
        }
        return new int[][] {start, targets};
    }
}
