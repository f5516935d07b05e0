package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code closure show --format dot} laid out by Graphviz ({@code dot -Tsvg}): it accepts the file, and the SVG holds
 * the expected nodes (all paths; with {@code --top N} the N largest by added size computed by brute force: remove
 * the path, sum what the root still reaches) and one edge per reference between drawn paths.
 */
@Tag("oracle")
class DotGraphOracleTest {
    static final Pattern NODE = Pattern.compile("<g id=\"node\\d+\" class=\"node\">\\s*<title>(n\\d+)</title>");
    static final Pattern EDGE = Pattern.compile("<g id=\"edge\\d+\" class=\"edge\">\\s*<title>(n\\d+)&#45;&gt;(n\\d+)</title>");

    static String svg(Path dotFile) throws Exception {
        Path dot = Tools.require("dot");
        Exec.Result r = Exec.run(List.of(dot.toString(), "-Tsvg", dotFile.toString()), null, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stderr().isEmpty(), "dot warned: " + r.stderr());
        return new String(r.stdout(), StandardCharsets.UTF_8);
    }

    static Set<String> nodes(String svg) {
        Set<String> out = new TreeSet<>();
        Matcher m = NODE.matcher(svg);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    static List<String> edges(String svg) {
        List<String> out = new ArrayList<>();
        Matcher m = EDGE.matcher(svg);
        while (m.find()) {
            out.add(m.group(1) + "->" + m.group(2));
        }
        return out;
    }

    static long reachable(ClosureGraph g, int root, int removed) {
        if (root == removed) {
            return 0;
        }
        Set<Integer> seen = new HashSet<>(List.of(root));
        ArrayDeque<Integer> q = new ArrayDeque<>(List.of(root));
        long sum = 0;
        while (!q.isEmpty()) {
            int v = q.poll();
            sum += g.narSize(v);
            for (int w : g.referencesOf(v)) {
                if (w != removed && seen.add(w)) {
                    q.add(w);
                }
            }
        }
        return sum;
    }

    @Test
    void graphvizDrawsTheGraphAndTheTopN(@TempDir Path tmp) throws Exception {
        TestGraphs.B b = TestGraphs.current();
        ClosureGraph g = b.build();
        Path reg = tmp.resolve("closure.registration");
        Files.writeString(reg, b.registration());
        int root = g.indexOf(TestGraphs.sp("nixos-system-demo-24.05"));

        Cli.Result all = Cli.run("closure", "show", "--closure", reg.toString(), "--format", "dot");
        assertEquals(0, all.exitCode(), all.err());
        Path f = tmp.resolve("all.dot");
        Files.writeString(f, all.out());
        String svg = svg(f);
        Set<String> expectedNodes = new TreeSet<>();
        List<String> expectedEdges = new ArrayList<>();
        for (int v = 0; v < g.size(); v++) {
            expectedNodes.add("n" + v);
            for (int w : g.referencesOf(v)) {
                if (w != v) {
                    expectedEdges.add("n" + v + "->n" + w);
                }
            }
        }
        assertEquals(expectedNodes, nodes(svg));
        assertEquals(expectedEdges.stream().sorted().toList(), edges(svg).stream().sorted().toList());
        assertTrue(svg.contains(">glibc&#45;2.38&#45;27</text>"), "labels are drawn");

        // --top 4: the four largest by brute-force added size
        long total = reachable(g, root, -1);
        List<Integer> order = new ArrayList<>();
        for (int v = 0; v < g.size(); v++) {
            order.add(v);
        }
        order.sort(Comparator.<Integer>comparingLong(v -> -(total - reachable(g, root, v))).thenComparing(v -> v));
        Set<String> top4 = new TreeSet<>();
        order.subList(0, 4).forEach(v -> top4.add("n" + v));
        Cli.Result top = Cli.run("closure", "show", "--closure", reg.toString(), "--format", "dot", "--top", "4");
        assertEquals(0, top.exitCode(), top.err());
        Path f4 = tmp.resolve("top.dot");
        Files.writeString(f4, top.out());
        String svg4 = svg(f4);
        assertEquals(top4, nodes(svg4));
        for (String e : edges(svg4)) {
            String[] ab = e.split("->");
            assertTrue(top4.contains(ab[0]) && top4.contains(ab[1]), e);
        }

        Cli.Result bad = Cli.run("closure", "show", "--closure", reg.toString(), "--top", "4");
        assertEquals(2, bad.exitCode());
        assertEquals("microforge: --top is only for --format dot", bad.err().strip());
    }
}
