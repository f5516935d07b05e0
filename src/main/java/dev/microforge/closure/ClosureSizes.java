package dev.microforge.closure;

/** closureSize (sum of narSize over the closure of each path), as {@code nix path-info -S} computes it. */
public final class ClosureSizes {
    private ClosureSizes() {}

    /**
     * Per member: the closure size, or -1 when a narSize in its closure is unknown. One depth-first search per member
     * over arrays allocated once (a visit stamp per member instead of a fresh set), stopped at the first unknown size.
     * The sums are checked (a graph's sizes fit by construction; an overflow throws {@link ArithmeticException}).
     */
    public static long[] of(ClosureGraph g) {
        int n = g.size();
        int[] start = g.refStarts();
        int[] targets = g.refTargets();
        long[] out = new long[n];
        int[] stamp = new int[n];
        int[] stack = new int[Math.max(1, n)];
        for (int i = 0; i < n; i++) {
            if (g.narSize(i) < 0) {
                out[i] = -1;
                continue;
            }
            int epoch = i + 1;
            int sp = 0;
            stack[sp++] = i;
            stamp[i] = epoch;
            long sum = 0;
            while (sp > 0) {
                int k = stack[--sp];
                long s = g.narSize(k);
                if (s < 0) {
                    sum = -1;
                    break;
                }
                sum = Math.addExact(sum, s);
                for (int e = start[k]; e < start[k + 1]; e++) {
                    int r = targets[e];
                    if (stamp[r] != epoch) {
                        stamp[r] = epoch;
                        stack[sp++] = r;
                    }
                }
            }
            out[i] = sum;
        }
        return out;
    }
}
