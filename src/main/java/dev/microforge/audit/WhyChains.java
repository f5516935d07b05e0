package dev.microforge.audit;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Shortest chains from the roots ({@code nix why-depends} without the file detail): one breadth-first search
 * from all roots at once, explored in root order and then in reference order, so the chain chosen among
 * equally short ones is deterministic. Iterative, linear in the graph, cycles are harmless.
 */
public final class WhyChains {
    private final int[] parent; // -1 = a root, -2 = unreachable

    private WhyChains(int[] parent) {
        this.parent = parent;
    }

    public static WhyChains compute(int n, IntFunction<int[]> succ, int[] roots) {
        int[][] csr = Csr.of(n, succ);
        return compute(n, csr[0], csr[1], roots);
    }

    /** The same on compressed rows ({@link Dominators#compute(int, int[], int[], int[], long[])}). */
    public static WhyChains compute(int n, int[] start, int[] targets, int[] roots) {
        int[] parent = new int[n];
        Arrays.fill(parent, -2);
        int[] queue = new int[n];
        int head = 0;
        int tail = 0;
        for (int r : roots) {
            if (parent[r] == -2) {
                parent[r] = -1;
                queue[tail++] = r;
            }
        }
        while (head < tail) {
            int v = queue[head++];
            for (int e = start[v]; e < start[v + 1]; e++) {
                int w = targets[e];
                if (parent[w] == -2) {
                    parent[w] = v;
                    queue[tail++] = w;
                }
            }
        }
        return new WhyChains(parent);
    }

    public boolean reachable(int node) {
        return parent[node] != -2;
    }

    /** The node before {@code node} on its chain: -1 for a root, -2 when no root reaches it. */
    public int parent(int node) {
        return parent[node];
    }

    /** The chain root, ..., node (node indexes); empty when no root reaches the node. */
    public int[] chain(int node) {
        if (parent[node] == -2) {
            return new int[0];
        }
        int len = 0;
        for (int v = node; v != -1; v = parent[v]) {
            len++;
        }
        int[] out = new int[len];
        int i = len;
        for (int v = node; v != -1; v = parent[v]) {
            out[--i] = v;
        }
        return out;
    }
}
