package dev.microforge.closure;

import java.util.BitSet;

/** closureSize (sum of narSize over the closure of each path), as {@code nix path-info -S} computes it. */
public final class ClosureSizes {
    private ClosureSizes() {}

    /** Per member: the closure size, or -1 when a narSize in its closure is unknown. */
    public static long[] of(ClosureGraph g) {
        int n = g.size();
        long[] out = new long[n];
        int[] stack = new int[Math.max(1, n)];
        for (int i = 0; i < n; i++) {
            BitSet seen = new BitSet(n);
            int sp = 0;
            stack[sp++] = i;
            seen.set(i);
            long sum = 0;
            while (sp > 0) {
                int k = stack[--sp];
                long s = g.narSize(k);
                if (s < 0 || sum < 0) {
                    sum = -1;
                } else {
                    sum += s;
                }
                for (int e = g.refStarts()[k]; e < g.refStarts()[k + 1]; e++) {
                    int r = g.refTargets()[e];
                    if (!seen.get(r)) {
                        seen.set(r);
                        stack[sp++] = r;
                    }
                }
            }
            out[i] = sum;
        }
        return out;
    }
}
