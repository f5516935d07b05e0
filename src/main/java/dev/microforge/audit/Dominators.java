package dev.microforge.audit;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Dominator tree of a reference graph seen from a set of roots (a virtual super-root points at every root),
 * computed with the iterative algorithm of Cooper, Harvey and Kennedy ("A Simple, Fast Dominance Algorithm")
 * on int arrays: an explicit-stack depth-first search gives the reverse postorder, predecessors are kept in
 * compressed rows, and the fixpoint runs in reverse-postorder numbering so {@code intersect} compares plain
 * ints. No recursion anywhere: a million paths or a long chain cannot overflow the stack. On the acyclic
 * graphs Nix produces (plus self-references and the odd mutual reference) it converges in two passes.
 *
 * <p>A node's <em>added size</em> is the sum of the sizes of the nodes it dominates (itself included): the bytes
 * that leave the closure if it goes, nix-tree's "added size".
 */
public final class Dominators {
    /** {@link #idom(int)} of a node dominated only by the virtual root (e.g. a root, or a path two roots share). */
    public static final int VIRTUAL_ROOT = -1;
    /** {@link #idom(int)} of a node that no root reaches. */
    public static final int UNREACHABLE = -2;

    private final int[] num; // node -> reverse-postorder number (1..k), 0 = unreachable
    private final int[] nodeAt; // rpo number -> node (index 0 unused: the virtual root)
    private final int[] idom; // rpo number -> rpo number of the immediate dominator
    private final long[] added; // rpo number -> added size

    private Dominators(int[] num, int[] nodeAt, int[] idom, long[] added) {
        this.num = num;
        this.nodeAt = nodeAt;
        this.idom = idom;
        this.added = added;
    }

    /**
     * @param n     number of nodes
     * @param succ  successors (references) of a node; self-edges and duplicates are allowed
     * @param roots the roots, in the order their subtrees are explored (duplicates are ignored)
     * @param sizes size of each node (negative sizes count as 0)
     */
    public static Dominators compute(int n, IntFunction<int[]> succ, int[] roots, long[] sizes) {
        int[][] csr = Csr.of(n, succ);
        return compute(n, csr[0], csr[1], roots, sizes);
    }

    /**
     * The same on compressed rows: node {@code v}'s successors are {@code targets[start[v] .. start[v + 1])}
     * (as {@link dev.microforge.closure.ClosureGraph#refStarts()} gives them).
     */
    public static Dominators compute(int n, int[] start0, int[] targets, int[] roots, long[] sizes) {
        // 1. Iterative DFS from the virtual root: postorder.
        boolean[] seen = new boolean[n];
        int[] post = new int[n];
        int postCount = 0;
        int[] stackNode = new int[n];
        int[] stackEdge = new int[n];
        for (int r : roots) {
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("root index out of range: " + r);
            }
            if (seen[r]) {
                continue;
            }
            seen[r] = true;
            int sp = 0;
            stackNode[sp] = r;
            stackEdge[sp] = 0;
            sp++;
            while (sp > 0) {
                int v = stackNode[sp - 1];
                int e = stackEdge[sp - 1];
                if (e < start0[v + 1] - start0[v]) {
                    stackEdge[sp - 1] = e + 1;
                    int w = targets[start0[v] + e];
                    if (!seen[w]) {
                        seen[w] = true;
                        stackNode[sp] = w;
                        stackEdge[sp] = 0;
                        sp++;
                    }
                } else {
                    post[postCount++] = v;
                    sp--;
                }
            }
        }
        stackNode = null;
        stackEdge = null;
        int k = postCount;
        int[] num = new int[n];
        int[] nodeAt = new int[k + 1];
        nodeAt[0] = -1;
        for (int i = 0; i < k; i++) {
            int v = post[k - 1 - i];
            num[v] = i + 1;
            nodeAt[i + 1] = v;
        }
        post = null;

        // 2. Predecessors in compressed rows, in rpo numbering (0 = virtual root).
        int[] start = new int[k + 2];
        boolean[] isRoot = new boolean[k + 1];
        for (int r : roots) {
            isRoot[num[r]] = true;
        }
        for (int i = 1; i <= k; i++) {
            if (isRoot[i]) {
                start[i + 1]++;
            }
            int v = nodeAt[i];
            for (int e = start0[v]; e < start0[v + 1]; e++) {
                int j = num[targets[e]];
                if (j != i) {
                    start[j + 1]++;
                }
            }
        }
        for (int i = 1; i <= k + 1; i++) {
            start[i] += start[i - 1];
        }
        int[] preds = new int[start[k + 1]];
        int[] fill = new int[k + 1];
        for (int i = 1; i <= k; i++) {
            if (isRoot[i]) {
                preds[start[i] + fill[i]++] = 0;
            }
        }
        for (int i = 1; i <= k; i++) {
            int v = nodeAt[i];
            for (int e = start0[v]; e < start0[v + 1]; e++) {
                int j = num[targets[e]];
                if (j != i) {
                    preds[start[j] + fill[j]++] = i;
                }
            }
        }
        fill = null;
        isRoot = null;

        // 3. Cooper-Harvey-Kennedy fixpoint.
        int[] idom = new int[k + 1];
        Arrays.fill(idom, -1);
        idom[0] = 0;
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int i = 1; i <= k; i++) {
                int nd = -1;
                for (int p = start[i]; p < start[i + 1]; p++) {
                    int q = preds[p];
                    if (idom[q] == -1) {
                        continue;
                    }
                    if (nd == -1) {
                        nd = q;
                    } else {
                        int a = q;
                        int b = nd;
                        while (a != b) {
                            while (a > b) {
                                a = idom[a];
                            }
                            while (b > a) {
                                b = idom[b];
                            }
                        }
                        nd = a;
                    }
                }
                if (idom[i] != nd) {
                    idom[i] = nd;
                    changed = true;
                }
            }
        }

        // 4. Added sizes: children have larger rpo numbers than their immediate dominator.
        long[] added = new long[k + 1];
        for (int i = 1; i <= k; i++) {
            added[i] = Math.max(0, sizes[nodeAt[i]]);
        }
        for (int i = k; i >= 1; i--) {
            added[idom[i]] = Math.addExact(added[idom[i]], added[i]);
        }
        return new Dominators(num, nodeAt, idom, added);
    }

    /** Number of nodes reachable from the roots. */
    public int reachableCount() {
        return nodeAt.length - 1;
    }

    public boolean reachable(int node) {
        return num[node] != 0;
    }

    /** The immediate dominator of a node, {@link #VIRTUAL_ROOT} or {@link #UNREACHABLE}. */
    public int idom(int node) {
        int i = num[node];
        if (i == 0) {
            return UNREACHABLE;
        }
        int d = idom[i];
        return d == 0 ? VIRTUAL_ROOT : nodeAt[d];
    }

    /** Bytes that leave the closure if the node goes; 0 for an unreachable node. */
    public long addedSize(int node) {
        int i = num[node];
        return i == 0 ? 0 : added[i];
    }

    /** Sum of the sizes of all reachable nodes. */
    public long totalSize() {
        return added[0];
    }

    /** The reachable nodes in reverse postorder (a fresh array). */
    public int[] reachableNodes() {
        return Arrays.copyOfRange(nodeAt, 1, nodeAt.length);
    }

    /** The reachable nodes in reverse postorder (do not modify). */
    public int reachableNode(int rpoIndex) {
        return nodeAt[rpoIndex + 1];
    }
}
