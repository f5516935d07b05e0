package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link WhyDepends} on hand-made graphs (the comparison with Nix itself: AuditWhyOracleTest). */
class WhyDependsTest {
    @Test
    void diamondHasTwoShortestChainsAndTheLongOneOnlyUnderAll() {
        ClosureGraph g = new TestGraphs.B()
                .path("top-1", 10, "a-1", "b-1", "c-1")
                .path("a-1", 10, "z-1")
                .path("b-1", 10, "z-1")
                .path("c-1", 10, "d-1")
                .path("d-1", 10, "z-1")
                .path("z-1", 10, "z-1")
                .build();
        int top = WhyDepends.resolve(g, "top-1", "PATH");
        int z = WhyDepends.resolve(g, "z-1", "DEPENDENCY");
        String shortest = WhyDepends.render(g, top, z, false, false, null, 100);
        assertEquals(2, shortest.lines().filter(l -> l.endsWith("-z-1")).count(), shortest);
        assertTrue(shortest.endsWith("2 shortest chains, 2 references long\n"), shortest);
        assertTrue(!shortest.contains("-d-1"), shortest);
        String all = WhyDepends.render(g, top, z, true, false, null, 100);
        assertEquals(3, all.lines().filter(l -> l.endsWith("-z-1")).count(), all);
        assertTrue(all.contains("-d-1"), all);
        // at most --limit chains, and the count line says so
        String one = WhyDepends.render(g, top, z, false, false, null, 1);
        assertEquals(1, one.lines().filter(l -> l.endsWith("-z-1")).count(), one);
        assertTrue(one.endsWith("first 1 of more than 1 shortest chains, 2 references long\n"), one);
    }

    @Test
    void aChainThousandsDeepIsDrawnWithoutRecursion() {
        TestGraphs.B b = new TestGraphs.B();
        int depth = 3000;
        for (int i = 0; i < depth; i++) {
            b.path("p" + i + "-1", 1, "p" + (i + 1) + "-1");
        }
        b.path("p" + depth + "-1", 1);
        ClosureGraph g = b.build();
        int from = WhyDepends.resolve(g, "p0-1", "PATH");
        int to = WhyDepends.resolve(g, "p" + depth + "-1", "DEPENDENCY");
        for (boolean all : List.of(false, true)) {
            String out = WhyDepends.render(g, from, to, all, false, null, 100);
            List<String> lines = out.lines().toList();
            assertEquals(depth + 1 + (all ? 0 : 1), lines.size());
            assertEquals("    ".repeat(depth - 1) + "└───" + g.pathString(to), lines.get(depth));
        }
    }
}
