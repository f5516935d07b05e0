package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.util.Sizes;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code closure show --format dot}: the reference graph as Graphviz, each path a box sized and coloured
 * (pale yellow to red) by the logarithm of its added size, labelled with its name and added size. With {@code top > 0} only the
 * {@code top} paths with the largest added size (ties by path order, as {@code audit size} picks them) are drawn, with
 * the references among them; a drawn path none of whose drawn referrers refers to it directly gets a dashed edge from
 * its immediate dominator ("reached through paths not drawn"). Deterministic: nodes in path order, edges in
 * reference order; every string goes through {@link #quote}.
 */
public final class DotGraph {
    private DotGraph() {}

    public static String render(ClosureGraph g, int top) {
        if (top < 0) {
            throw new UserError("--top must not be negative: " + top);
        }
        int n = g.size();
        int[] roots = n == 0 ? new int[0] : Reach.roots(g, List.of());
        long[] sizes = Reach.sizes(g);
        Dominators dom = Dominators.compute(n, g.refStarts(), g.refTargets(), roots, sizes);
        boolean[] drawn = new boolean[n];
        if (top == 0) {
            Arrays.fill(drawn, true);
        } else {
            List<Integer> order = new ArrayList<>();
            for (int v = 0; v < n; v++) {
                order.add(v);
            }
            order.sort((a, b) -> {
                int c = Long.compare(dom.addedSize(b), dom.addedSize(a));
                return c != 0 ? c : Integer.compare(a, b);
            });
            for (int i = 0; i < Math.min(top, n); i++) {
                drawn[order.get(i)] = true;
            }
        }
        long max = 1;
        for (int v = 0; v < n; v++) {
            max = Math.max(max, dom.addedSize(v));
        }
        int[] start = g.refStarts();
        int[] targets = g.refTargets();
        StringBuilder sb = new StringBuilder();
        sb.append("digraph closure {\n");
        sb.append("  graph [rankdir=LR, fontname=\"Helvetica\", label=").append(quote(g.size() + " paths"
                + (top > 0 ? ", the " + Math.min(top, n) + " largest by added size" : "") + "; larger and redder = more added size")).append(", labelloc=t];\n");
        sb.append("  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=10, fixedsize=false];\n");
        sb.append("  edge [color=\"#7a8794\", arrowsize=0.6];\n");
        boolean[] hasDrawnReferrer = new boolean[n];
        for (int v = 0; v < n; v++) {
            if (!drawn[v]) {
                continue;
            }
            for (int e = start[v]; e < start[v + 1]; e++) {
                if (targets[e] != v && drawn[targets[e]]) {
                    hasDrawnReferrer[targets[e]] = true;
                }
            }
        }
        for (int v = 0; v < n; v++) {
            if (!drawn[v]) {
                continue;
            }
            long added = dom.addedSize(v);
            double f = Math.log1p(added / 1024.0) / Math.log1p(max / 1024.0);
            double side = 0.4 + 1.6 * f;
            String label = g.name(v) + (sizes[v] >= 0 ? "\n" + Sizes.human(added) : "");
            sb.append("  n").append(v).append(" [label=").append(quote(label)).append(", tooltip=").append(quote(g.pathString(v)))
                    .append(String.format(Locale.ROOT, ", width=%.2f, height=%.2f, fillcolor=\"%.3f %.3f 1.000\"", side * 1.6, side * 0.6,
                            0.16 - 0.16 * f, 0.15 + 0.75 * f))
                    .append("];\n");
        }
        for (int v = 0; v < n; v++) {
            if (!drawn[v]) {
                continue;
            }
            for (int e = start[v]; e < start[v + 1]; e++) {
                int w = targets[e];
                if (w != v && drawn[w]) {
                    sb.append("  n").append(v).append(" -> n").append(w).append(";\n");
                }
            }
        }
        for (int v = 0; v < n; v++) {
            int d = dom.idom(v);
            if (drawn[v] && !hasDrawnReferrer[v] && d >= 0 && drawn[d]) {
                sb.append("  n").append(d).append(" -> n").append(v).append(" [style=dashed, tooltip=\"through paths not drawn\"];\n");
            }
        }
        sb.append("}\n");
        return sb.toString();
    }

    /** A DOT quoted string: backslash and double quote escaped, line breaks as DOT's centred line break. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> { }
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
