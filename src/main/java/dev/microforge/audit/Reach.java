package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/** Root resolution shared by the audits. */
final class Reach {
    private Reach() {}

    /**
     * The root indexes of a graph: the given roots (each must be a member), else the declared roots of the
     * graph, else every path nothing else refers to plus, for parts of the graph that only cycles reach (all
     * paths referred to by someone), the smallest path of each such part, so every member is counted.
     */
    static int[] roots(ClosureGraph g, List<StorePath> given) {
        List<StorePath> explicit = !given.isEmpty() ? given : g.declaredRoots();
        if (!explicit.isEmpty()) {
            List<StorePath> sorted = new ArrayList<>(new TreeSet<>(explicit));
            int[] out = new int[sorted.size()];
            for (int i = 0; i < out.length; i++) {
                int k = g.indexOf(sorted.get(i));
                if (k < 0) {
                    throw new UserError(g.source() + ": root " + sorted.get(i) + " is not in the closure");
                }
                out[i] = k;
            }
            return out;
        }
        int n = g.size();
        int[] start = g.refStarts();
        int[] targets = g.refTargets();
        boolean[] referenced = new boolean[n];
        for (int i = 0; i < n; i++) {
            for (int e = start[i]; e < start[i + 1]; e++) {
                if (targets[e] != i) {
                    referenced[targets[e]] = true;
                }
            }
        }
        int[] roots = new int[Math.max(1, n)];
        int count = 0;
        boolean[] seen = new boolean[n];
        int[] queue = new int[n];
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < n; i++) {
                if (seen[i] || (pass == 0 && referenced[i])) {
                    continue;
                }
                roots[count++] = i;
                int head = 0;
                int tail = 0;
                seen[i] = true;
                queue[tail++] = i;
                while (head < tail) {
                    int v = queue[head++];
                    for (int e = start[v]; e < start[v + 1]; e++) {
                        int w = targets[e];
                        if (!seen[w]) {
                            seen[w] = true;
                            queue[tail++] = w;
                        }
                    }
                }
            }
        }
        int[] out = Arrays.copyOf(roots, count);
        Arrays.sort(out);
        return out;
    }

    static long[] sizes(ClosureGraph g) {
        long[] s = new long[g.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = g.narSize(i);
        }
        return s;
    }
}
