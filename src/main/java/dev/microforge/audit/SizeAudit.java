package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import dev.microforge.util.Sizes;
import dev.microforge.util.Tasks;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.concurrent.FutureTask;
import java.util.function.Supplier;

/**
 * {@code audit size}: totals, the top N by added size (dominator tree), why-chains, forbidden paths, the diff
 * against a baseline, and the rules (budget, max growth, forbid). Pure computation on graphs whose narSize is
 * known for every path (the CLI fills missing sizes from disk first).
 */
public final class SizeAudit {
    /** What to check. {@code budget} is -1 for none; {@code maxGrowth} null for none. */
    public record Options(List<StorePath> roots, int top, long budget, Growth maxGrowth, List<Glob> forbid) {
        public Options {
            roots = List.copyOf(roots);
            forbid = List.copyOf(forbid);
            if (top < 0) {
                throw new UserError("--top must not be negative: " + top);
            }
        }
    }

    private SizeAudit() {}

    /**
     * What the diff needs of a baseline closure: its roots and the name and narSize of every reachable member. Small
     * enough to keep while the current closure is read (a million-path graph need not stay in memory twice).
     */
    public record Baseline(List<String> roots, ClosureDiff.Side members) {
        public Baseline {
            roots = List.copyOf(roots);
        }
    }

    /** Reduces a baseline graph to what the diff needs (roots: declared, else unreferenced, as for the current closure). */
    public static Baseline baseline(ClosureGraph b) {
        int[] broots = Reach.roots(b, List.of());
        long[] bsizes = Reach.sizes(b);
        WhyChains bwhy = WhyChains.compute(b.size(), b.refStarts(), b.refTargets(), broots);
        int[] members = new int[b.size()];
        int count = 0;
        for (int v = 0; v < b.size(); v++) {
            if (bwhy.reachable(v)) {
                if (bsizes[v] < 0) {
                    throw new UserError(b.source() + ": no narSize for " + b.pathString(v)
                            + " (a baseline needs sizes: use a path-info JSON, registration or dump-db file)");
                }
                members[count++] = v;
            }
        }
        return new Baseline(paths(b, broots), ClosureDiff.Side.of(b, members, count, bsizes));
    }

    public static SizeReport run(ClosureGraph g, ClosureGraph baseline, Options o, Events events) {
        return run(g, baseline == null ? null : baseline(baseline), o, events);
    }

    public static SizeReport run(ClosureGraph g, Baseline baseline, Options o, Events events) {
        return run(g, baseline == null ? null : () -> baseline, o, events);
    }

    /**
     * As above with a baseline that may still be on its way (e.g. read on another thread): only the diff waits for it,
     * the dominators and why-chains of {@code g} do not. Its failure is thrown as it is.
     */
    public static SizeReport run(ClosureGraph g, Supplier<Baseline> baseline, Options o, Events events) {
        if (o.maxGrowth() != null && baseline == null) {
            throw new UserError("--max-growth needs --baseline");
        }
        int n = g.size();
        int[] roots = Reach.roots(g, o.roots());
        long[] sizes = Reach.sizes(g);
        requireSizes(g, sizes);
        WhyChains why = WhyChains.compute(n, g.refStarts(), g.refTargets(), roots);
        // the diff needs only the reachable members: it runs on a second thread while the dominators are computed
        FutureTask<ClosureDiff.Result> diffTask = null;
        if (baseline != null) {
            diffTask = new FutureTask<>(() -> {
                int[] after = new int[n];
                int count = 0;
                for (int v = 0; v < n; v++) {
                    if (why.reachable(v)) {
                        after[count++] = v;
                    }
                }
                return ClosureDiff.compute(baseline.get().members(), ClosureDiff.Side.of(g, after, count, sizes));
            });
            Thread t = new Thread(diffTask, "closure-diff");
            t.setDaemon(true);
            t.start();
        }
        events.start("dominators", -1);
        Dominators dom = Dominators.compute(n, g.refStarts(), g.refTargets(), roots, sizes);
        events.finish("dominators");

        // top N by added size, ties by path (index order = path order)
        List<SizeReport.Entry> top = new ArrayList<>();
        if (o.top() > 0) {
            PriorityQueue<Integer> heap = new PriorityQueue<>(Math.min(o.top(), Math.max(1, n)) + 1,
                    (a, b) -> {
                        int c = Long.compare(dom.addedSize(a), dom.addedSize(b));
                        return c != 0 ? c : Integer.compare(b, a);
                    });
            for (int r = 0; r < dom.reachableCount(); r++) {
                int v = dom.reachableNode(r);
                if (heap.size() < o.top()) {
                    heap.add(v);
                } else {
                    int least = heap.peek();
                    long a = dom.addedSize(v);
                    long b = dom.addedSize(least);
                    if (a > b || (a == b && v < least)) {
                        heap.poll();
                        heap.add(v);
                    }
                }
            }
            List<Integer> chosen = new ArrayList<>(heap);
            chosen.sort((a, b) -> {
                int c = Long.compare(dom.addedSize(b), dom.addedSize(a));
                return c != 0 ? c : Integer.compare(a, b);
            });
            int[] nodes = chosen.stream().mapToInt(Integer::intValue).toArray();
            long[] closureSizes = ReachableSizes.of(n, g.refStarts(), g.refTargets(), sizes, nodes, dom.reachableNodes());
            for (int i = 0; i < nodes.length; i++) {
                int v = nodes[i];
                top.add(new SizeReport.Entry(path(g, v), dom.addedSize(v), Math.max(0, sizes[v]), closureSizes[i],
                        chain(g, why, v)));
            }
        }

        // forbidden paths, in pattern order, then path order
        List<SizeReport.Forbidden> forbidden = new ArrayList<>();
        for (Glob glob : o.forbid()) {
            for (int v = 0; v < n; v++) {
                if (dom.reachable(v) && glob.matches(g.storePath(v))) {
                    forbidden.add(new SizeReport.Forbidden(glob.text(), path(g, v), Math.max(0, sizes[v]), chain(g, why, v)));
                }
            }
        }

        ClosureDiff.Result diff = null;
        List<String> baselineRoots = List.of();
        if (baseline != null) {
            diff = Tasks.awaitUnchecked(diffTask);
            baselineRoots = baseline.get().roots();
        }

        long total = dom.totalSize();
        List<SizeReport.Rule> rules = new ArrayList<>();
        if (o.budget() >= 0) {
            boolean ok = total <= o.budget();
            rules.add(new SizeReport.Rule("budget", ok, o.budget(), total, "closure size " + Sizes.human(total)
                    + (ok ? " is within" : " exceeds") + " the budget of " + Sizes.human(o.budget())
                    + (ok ? "" : " by " + Sizes.human(total - o.budget()))));
        }
        if (o.maxGrowth() != null) {
            long allowed = o.maxGrowth().allowed(diff.sizeBefore());
            long growth = diff.sizeDelta();
            boolean ok = growth <= allowed;
            rules.add(new SizeReport.Rule("max-growth", ok, allowed, growth, "closure " + (growth >= 0 ? "grew" : "shrank")
                    + " by " + Sizes.human(Math.abs(growth)) + percent(growth, diff.sizeBefore()) + (ok ? ", within" : ", over")
                    + " the allowed growth of " + Sizes.human(allowed)
                    + (o.maxGrowth().percent() != null ? " (" + o.maxGrowth().text() + " of the baseline)" : "")));
        }
        if (!o.forbid().isEmpty()) {
            boolean ok = forbidden.isEmpty();
            long distinct = forbidden.stream().map(SizeReport.Forbidden::path).distinct().count();
            rules.add(new SizeReport.Rule("forbid", ok, 0, distinct, ok ? "no path matches a forbidden pattern"
                    : distinct + " forbidden path" + (distinct == 1 ? "" : "s") + " in the closure"));
        }
        return new SizeReport(paths(g, roots), dom.reachableCount(), total, o.top(), top,
                o.forbid().stream().map(Glob::text).toList(), forbidden, diff, baselineRoots, rules);
    }

    static String percent(long delta, long base) {
        if (base <= 0) {
            return "";
        }
        return String.format(Locale.ROOT, " (%+.1f%%)", delta * 100.0 / base);
    }

    private static void requireSizes(ClosureGraph g, long[] sizes) {
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] < 0) {
                throw new UserError(g.source() + ": no narSize for " + g.pathString(i)
                        + " (give --store-dir so sizes can be computed from disk)");
            }
        }
    }

    private static String path(ClosureGraph g, int v) {
        return g.pathString(v);
    }

    private static List<String> paths(ClosureGraph g, int[] idx) {
        List<String> out = new ArrayList<>(idx.length);
        for (int i : idx) {
            out.add(path(g, i));
        }
        return out;
    }

    private static List<String> chain(ClosureGraph g, WhyChains why, int v) {
        return paths(g, why.chain(v));
    }
}
