package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GraphAlgorithmsTest {
    /** Bytes that leave when {@code removed} goes: reachable size minus reachable size avoiding it. */
    static long bruteAdded(int[][] succ, int[] roots, long[] sizes, int removed) {
        return reach(succ, roots, sizes, -1) - reach(succ, roots, sizes, removed);
    }

    static long reach(int[][] succ, int[] roots, long[] sizes, int avoid) {
        boolean[] seen = new boolean[succ.length];
        ArrayDeque<Integer> q = new ArrayDeque<>();
        for (int r : roots) {
            if (r != avoid && !seen[r]) {
                seen[r] = true;
                q.add(r);
            }
        }
        long sum = 0;
        while (!q.isEmpty()) {
            int v = q.poll();
            sum += sizes[v];
            for (int w : succ[v]) {
                if (w != avoid && !seen[w]) {
                    seen[w] = true;
                    q.add(w);
                }
            }
        }
        return sum;
    }

    @Test
    void addedSizeEqualsWhatLeavesOnRandomGraphsWithCycles() {
        Random rnd = new Random(42);
        for (int iter = 0; iter < 300; iter++) {
            int n = 1 + rnd.nextInt(40);
            int[][] succ = new int[n][];
            for (int v = 0; v < n; v++) {
                int deg = rnd.nextInt(4);
                succ[v] = new int[deg];
                for (int e = 0; e < deg; e++) {
                    // mostly forward edges (a DAG like Nix's), some back edges and self-references
                    int w = rnd.nextInt(10) == 0 ? rnd.nextInt(n) : Math.min(n - 1, v + 1 + rnd.nextInt(n));
                    succ[v][e] = w;
                }
            }
            long[] sizes = new long[n];
            for (int v = 0; v < n; v++) {
                sizes[v] = 1 + rnd.nextInt(1000);
            }
            int[] roots = rnd.nextBoolean() ? new int[] {0} : new int[] {0, rnd.nextInt(n)};
            Dominators d = Dominators.compute(n, v -> succ[v], roots, sizes);
            assertEquals(reach(succ, roots, sizes, -1), d.totalSize());
            for (int v = 0; v < n; v++) {
                if (d.reachable(v)) {
                    assertEquals(bruteAdded(succ, roots, sizes, v), d.addedSize(v), "iteration " + iter + " node " + v);
                } else {
                    assertEquals(Dominators.UNREACHABLE, d.idom(v));
                }
            }
            ReachableSizes cs = new ReachableSizes(n, v -> succ[v], sizes);
            for (int v = 0; v < n; v++) {
                assertEquals(reach(succ, new int[] {v}, sizes, -1), cs.closureSize(v));
            }
        }
    }

    @Test
    void batchClosureSizesEqualOneSearchPerNode() {
        Random rnd = new Random(7);
        for (int iter = 0; iter < 200; iter++) {
            int n = 1 + rnd.nextInt(200);
            int[][] succ = new int[n][];
            for (int v = 0; v < n; v++) {
                int deg = rnd.nextInt(5);
                succ[v] = new int[deg];
                for (int e = 0; e < deg; e++) {
                    succ[v][e] = rnd.nextInt(6) == 0 ? rnd.nextInt(n) : Math.min(n - 1, v + 1 + rnd.nextInt(n));
                }
            }
            long[] sizes = new long[n];
            for (int v = 0; v < n; v++) {
                sizes[v] = rnd.nextInt(10) == 0 ? -1 : rnd.nextInt(1000);
            }
            int[][] csr = Csr.of(n, v -> succ[v]);
            Dominators d = Dominators.compute(n, csr[0], csr[1], new int[] {0}, sizes);
            int[] nodes = new int[Math.min(d.reachableCount(), 1 + rnd.nextInt(150))]; // more than 64: two rounds
            for (int i = 0; i < nodes.length; i++) {
                nodes[i] = d.reachableNode(rnd.nextInt(d.reachableCount()));
            }
            long[] batch = ReachableSizes.of(n, csr[0], csr[1], sizes, nodes, d.reachableNodes());
            ReachableSizes one = new ReachableSizes(n, csr[0], csr[1], sizes);
            for (int i = 0; i < nodes.length; i++) {
                assertEquals(one.closureSize(nodes[i]), batch[i], "iteration " + iter + " node " + nodes[i]);
            }
        }
    }

    @Test
    void diamondAndSharedLibrary() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4 ; 1 -> 5
        int[][] succ = {{1, 2}, {3, 5}, {3}, {4}, {}, {}};
        long[] sizes = {1, 10, 100, 1000, 10000, 100000};
        Dominators d = Dominators.compute(6, v -> succ[v], new int[] {0}, sizes);
        assertEquals(Dominators.VIRTUAL_ROOT, d.idom(0));
        assertEquals(0, d.idom(3)); // shared by 1 and 2: only the root dominates it
        assertEquals(3, d.idom(4));
        assertEquals(1, d.idom(5));
        assertEquals(100010, d.addedSize(1));
        assertEquals(11000, d.addedSize(3));
        assertEquals(111111, d.totalSize());
    }

    @Test
    void selfAndMutualReferencesTerminate() {
        int[][] succ = {{0, 1}, {2, 1}, {1, 2, 3}, {3}};
        long[] sizes = {1, 2, 4, 8};
        Dominators d = Dominators.compute(4, v -> succ[v], new int[] {0}, sizes);
        assertEquals(15, d.totalSize());
        assertEquals(14, d.addedSize(1));
        assertEquals(12, d.addedSize(2));
        WhyChains w = WhyChains.compute(4, v -> succ[v], new int[] {0});
        assertArrayEquals(new int[] {0, 1, 2, 3}, w.chain(3));
        // every path on a cycle, no root outside it
        int[][] ring = {{1}, {2}, {0}};
        Dominators r = Dominators.compute(3, v -> ring[v], new int[] {0}, new long[] {1, 1, 1});
        assertEquals(3, r.totalSize());
        assertEquals(2, r.addedSize(1));
    }

    @Test
    void millionLongChainDoesNotOverflowTheStack() {
        int n = 1_000_000;
        int[][] succ = new int[n][];
        int[] none = new int[0];
        for (int v = 0; v < n; v++) {
            succ[v] = v + 1 < n ? new int[] {v + 1} : none;
        }
        long[] sizes = new long[n];
        java.util.Arrays.fill(sizes, 1);
        Dominators d = Dominators.compute(n, v -> succ[v], new int[] {0}, sizes);
        assertEquals(n, d.totalSize());
        assertEquals(n / 2, d.addedSize(n / 2));
        WhyChains w = WhyChains.compute(n, v -> succ[v], new int[] {0});
        assertEquals(n, w.chain(n - 1).length);
        assertEquals(n, new ReachableSizes(n, v -> succ[v], sizes).closureSize(0));
    }

    @Test
    void whyChainsAreShortestAndDeterministic() {
        // 0 -> 1 -> 2 -> 4 ; 0 -> 3 -> 4 ; root 5 -> 4
        int[][] succ = {{1, 3}, {2}, {4}, {4}, {}, {4}};
        WhyChains w = WhyChains.compute(6, v -> succ[v], new int[] {0, 5});
        assertArrayEquals(new int[] {5, 4}, w.chain(4));
        assertArrayEquals(new int[] {0, 1, 2}, w.chain(2));
        WhyChains w2 = WhyChains.compute(6, v -> succ[v], new int[] {0});
        assertArrayEquals(new int[] {0, 3, 4}, w2.chain(4));
        assertTrue(w.reachable(2));
        assertFalse(WhyChains.compute(6, v -> succ[v], new int[] {3}).reachable(0));
        assertEquals(0, WhyChains.compute(6, v -> succ[v], new int[] {3}).chain(0).length);
    }
}
