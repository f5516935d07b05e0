package dev.microforge.audit;

import static dev.microforge.audit.TestGraphs.sp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SizeAuditTest {
    static SizeAudit.Options opts(int top, long budget, String growth, String... forbid) {
        return new SizeAudit.Options(List.of(), top, budget, growth == null ? null : Growth.parse(growth),
                java.util.Arrays.stream(forbid).map(Glob::compile).toList());
    }

    @Test
    void totalsTopAndChains() {
        ClosureGraph g = TestGraphs.current().build();
        SizeReport r = SizeAudit.run(g, (ClosureGraph) null, opts(3, -1, null), Events.NONE);
        assertEquals(9, r.paths());
        assertEquals(4_096 + 20_480 + 150_000 + 60_000 + 6_000_000 + 8_500_000 + 130_000 + 30_000_000 + 400_000, r.closureSize());
        assertEquals(List.of(sp("nixos-system-demo-24.05").toString()), r.roots());
        SizeReport.Entry first = r.biggest().get(0);
        assertEquals(sp("nixos-system-demo-24.05").toString(), first.path());
        assertEquals(r.closureSize(), first.addedSize());
        assertEquals(sp("glibc-2.38-27").toString(), r.biggest().get(1).path());
        SizeReport.Entry second = r.biggest().get(2);
        // app-1.1 alone holds openssl and gcc-lib; glibc is shared with tools
        assertEquals(sp("app-1.1").toString(), second.path());
        assertEquals(150_000 + 6_000_000 + 8_500_000, second.addedSize());
        assertEquals(150_000 + 6_000_000 + 8_500_000 + 30_000_000 + 400_000, second.closureSize());
        assertEquals(List.of(sp("nixos-system-demo-24.05").toString(), sp("app-1.1").toString()), second.why());
        assertTrue(r.rules().isEmpty());
        assertTrue(r.ok());
    }

    @Test
    void everyRuleCanFail() {
        ClosureGraph g = TestGraphs.current().build();
        ClosureGraph b = TestGraphs.baseline().build();
        SizeReport ok = SizeAudit.run(g, b, opts(0, 1L << 30, "50%", "*-clang-*"), Events.NONE);
        assertTrue(ok.ok(), ok.rules().toString());
        SizeReport budget = SizeAudit.run(g, b, opts(0, 1_000_000, null), Events.NONE);
        assertEquals(List.of("budget"), budget.failed().stream().map(SizeReport.Rule::rule).toList());
        SizeReport growth = SizeAudit.run(g, b, opts(0, -1, "10%"), Events.NONE);
        assertEquals(List.of("max-growth"), growth.failed().stream().map(SizeReport.Rule::rule).toList());
        assertEquals(8_520_000, growth.failed().get(0).actual());
        SizeReport growthBytes = SizeAudit.run(g, b, opts(0, -1, "8M"), Events.NONE);
        assertFalse(growthBytes.ok());
        SizeReport forbid = SizeAudit.run(g, b, opts(0, -1, null, "gcc-*", "*-dev"), Events.NONE);
        assertEquals(List.of("forbid"), forbid.failed().stream().map(SizeReport.Rule::rule).toList());
        assertEquals(1, forbid.forbidden().size());
        assertEquals(List.of(sp("nixos-system-demo-24.05").toString(), sp("app-1.1").toString(), sp("gcc-13.2.0-lib").toString()),
                forbid.forbidden().get(0).why());
    }

    @Test
    void rootsRestrictTheClosure() {
        ClosureGraph g = TestGraphs.current().build();
        SizeReport r = SizeAudit.run(g, (ClosureGraph) null, new SizeAudit.Options(List.of(sp("tools-2.0")), 1, -1, null, List.of()), Events.NONE);
        assertEquals(4, r.paths());
        assertEquals(60_000 + 130_000 + 30_000_000 + 400_000, r.closureSize());
        assertThrows(UserError.class, () -> SizeAudit.run(g, (ClosureGraph) null,
                new SizeAudit.Options(List.of(sp("not-there")), 1, -1, null, List.of()), Events.NONE));
        assertThrows(UserError.class, () -> SizeAudit.run(g, (ClosureGraph) null, opts(1, -1, "5%"), Events.NONE));
    }

    @Test
    void cyclesOnlyComponentIsCounted() {
        ClosureGraph g = new TestGraphs.B()
                .path("a-1", 1, "b-1")
                .path("b-1", 2, "a-1", "b-1")
                .path("c-1", 4, "c-1")
                .path("d-1", 8, "e-1")
                .path("e-1", 16, "d-1")
                .build();
        SizeReport r = SizeAudit.run(g, (ClosureGraph) null, opts(5, -1, null), Events.NONE);
        assertEquals(5, r.paths());
        assertEquals(31, r.closureSize());
        assertEquals(3, r.roots().size());
    }

    @Test
    void sizesAreRequired() {
        ClosureGraph g = new TestGraphs.B().path("a-1", -1).build();
        UserError e = assertThrows(UserError.class, () -> SizeAudit.run(g, (ClosureGraph) null, opts(1, -1, null), Events.NONE));
        assertTrue(e.getMessage().contains("no narSize"), e.getMessage());
    }

    // ------------------------------------------------------------ golden files

    static final Path GOLDEN = Path.of("src/test/resources/audit");

    static SizeReport goldenReport() {
        return SizeAudit.run(TestGraphs.current().build(), TestGraphs.baseline().build(),
                opts(5, 40L << 20, "10%", "*-gcc-*", "*-dev"), Events.NONE);
    }

    static void golden(String file, String actual) throws IOException {
        Path p = dev.microforge.testkit.Tools.projectRoot().resolve(GOLDEN).resolve(file);
        if (Boolean.getBoolean("update.golden")) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, actual, StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(p, StandardCharsets.UTF_8), actual, "golden file " + p + " (regenerate with -Dupdate.golden=true)");
    }

    @Test
    void goldenText() throws IOException {
        golden("size.txt", SizeReportRenderer.render(goldenReport(), ReportFormat.TEXT));
    }

    @Test
    void goldenMarkdown() throws IOException {
        golden("size.md", SizeReportRenderer.render(goldenReport(), ReportFormat.MARKDOWN));
    }

    @Test
    void goldenJson() throws IOException {
        golden("size.json", SizeReportRenderer.render(goldenReport(), ReportFormat.JSON));
    }

    @Test
    void inputOrderDoesNotChangeTheReport() {
        // the same graph built from shuffled infos renders the same bytes
        ClosureGraph g = TestGraphs.current().build();
        java.util.List<dev.microforge.closure.PathInfo> shuffled = new java.util.ArrayList<>(g.paths());
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        ClosureGraph g2 = ClosureGraph.of("/nix/store", "test", shuffled);
        SizeAudit.Options o = opts(5, -1, null, "*-gcc-*");
        assertEquals(SizeReportRenderer.render(SizeAudit.run(g, (ClosureGraph) null, o, Events.NONE), ReportFormat.JSON),
                SizeReportRenderer.render(SizeAudit.run(g2, (ClosureGraph) null, o, Events.NONE), ReportFormat.JSON));
    }
}
