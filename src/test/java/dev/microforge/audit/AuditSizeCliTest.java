package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code microforge audit size} through the CLI: golden reports, an exit-code test per rule, bad input. */
class AuditSizeCliTest {
    static Path res(String name) {
        return Tools.projectRoot().resolve("src/test/resources/audit").resolve(name);
    }

    @BeforeAll
    static void fixtures() throws IOException {
        if (Boolean.getBoolean("update.golden")) {
            Files.writeString(res("current.registration"), TestGraphs.current().registration());
            Files.writeString(res("baseline.registration"), TestGraphs.baseline().registration());
        }
    }

    static Cli.Result run(String... extra) {
        List<String> args = new ArrayList<>(List.of("audit", "size", "--closure", res("current.registration").toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(new String[0]));
    }

    static final String[] GOLDEN_ARGS = {"--top", "5", "--budget", "40M", "--baseline", "", "--max-growth", "10%",
        "--forbid", "*-gcc-*", "*-dev"};

    static Cli.Result golden(String format) {
        String[] a = GOLDEN_ARGS.clone();
        a[5] = res("baseline.registration").toString();
        List<String> args = new ArrayList<>(List.of(a));
        args.addAll(List.of("--format", format));
        return run(args.toArray(new String[0]));
    }

    @Test
    void cliReportsEqualTheGoldenFiles() throws IOException {
        for (String[] f : new String[][] {{"text", "size.txt"}, {"markdown", "size.md"}, {"json", "size.json"}}) {
            Cli.Result r = golden(f[0]);
            assertEquals(3, r.exitCode(), r.err());
            assertEquals(Files.readString(res(f[1]), StandardCharsets.UTF_8), r.out(), f[1]);
            assertTrue(r.err().contains("budget:") && r.err().contains("max-growth:") && r.err().contains("forbid:"), r.err());
            assertFalse(r.err().contains("Exception"), r.err());
        }
    }

    @Test
    void exitCodePerRule() {
        String base = res("baseline.registration").toString();
        assertEquals(0, run().exitCode());
        assertEquals(0, run("--budget", "1G", "--baseline", base, "--max-growth", "50%", "--forbid", "*-clang-*").exitCode());
        Cli.Result budget = run("--budget", "40M");
        assertEquals(3, budget.exitCode());
        assertTrue(budget.out().contains("FAIL  budget"), budget.out());
        assertTrue(budget.err().contains("audit size failed: budget: closure size 43.2 MiB exceeds the budget of 40.0 MiB"), budget.err());
        Cli.Result growthPct = run("--baseline", base, "--max-growth", "10%");
        assertEquals(3, growthPct.exitCode());
        assertTrue(growthPct.err().contains("max-growth"), growthPct.err());
        assertEquals(3, run("--baseline", base, "--max-growth", "8M").exitCode());
        assertEquals(0, run("--baseline", base, "--max-growth", "9M").exitCode());
        Cli.Result forbid = run("--forbid", "gcc-*");
        assertEquals(3, forbid.exitCode());
        assertTrue(forbid.err().contains("forbid: 1 forbidden path"), forbid.err());
        assertEquals(0, run("--forbid", "gcc-*", "--root", TestGraphs.sp("tools-2.0").toString()).exitCode());
        Cli.Result output = run("--budget", "1K", "--format", "json");
        assertEquals(3, output.exitCode());
        assertTrue(output.out().contains("\"failedRules\": [\n    \"budget\"\n  ]"), output.out());
    }

    @Test
    void writesTheReportAtomicallyToOutput(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("report.md");
        Cli.Result r = run("--format", "markdown", "--output", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("", r.out());
        assertTrue(Files.readString(out).startsWith("### microforge audit size: report"));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count());
        }
    }

    static void badInput(String expected, Cli.Result r) {
        assertEquals(2, r.exitCode(), r.out() + r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("Try ")).count(), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertEquals("", r.out());
    }

    @Test
    void badInput(@TempDir Path tmp) throws IOException {
        badInput("--budget: invalid size 'lots'", run("--budget", "lots"));
        badInput("--max-growth needs --baseline", run("--max-growth", "5%"));
        badInput("--max-growth 'x%'", run("--baseline", res("baseline.registration").toString(), "--max-growth", "x%"));
        badInput("unclosed '['", run("--forbid", "gcc-[12"));
        badInput("--root", run("--root", "/etc/passwd"));
        badInput("is not in the closure", run("--root", TestGraphs.sp("nope-1.0").toString()));
        badInput("--top must not be negative", run("--top", "-1"));
        badInput("unknown format 'yaml'", run("--format", "yaml"));
        Path garbage = tmp.resolve("garbage");
        Files.writeString(garbage, "hello world\n");
        badInput(garbage.toString(), Cli.run("audit", "size", "--closure", garbage.toString()));
        badInput("no such file", Cli.run("audit", "size", "--closure", tmp.resolve("missing").toString()));
        badInput("no closure given", Cli.run("audit", "size"));
        badInput(garbage.toString(), run("--baseline", garbage.toString()));
    }

    /** The baseline is read on another thread, yet its errors come first, as when it was read first. */
    @Test
    void baselineErrorsComeFirst(@TempDir Path tmp) throws IOException {
        Path badBase = tmp.resolve("bad-baseline");
        Files.writeString(badBase, TestGraphs.baseline().registration() + "x\n");
        Path badCurrent = tmp.resolve("bad-current");
        Files.writeString(badCurrent, "hello world\n");
        Path good = res("current.registration");
        for (int i = 0; i < 5; i++) {
            badInput(badBase.toString(), Cli.run("audit", "size", "--closure", badCurrent.toString(), "--baseline", badBase.toString()));
            badInput(badBase.toString(), Cli.run("audit", "size", "--closure", good.toString(), "--baseline", badBase.toString(),
                    "--root", TestGraphs.sp("nope-1.0").toString()));
            badInput(badBase.toString(), Cli.run("audit", "size", "--closure", good.toString(), "--baseline", badBase.toString()));
            badInput(badCurrent.toString(), Cli.run("audit", "size", "--closure", badCurrent.toString(), "--baseline",
                    res("baseline.registration").toString()));
        }
    }

    @Test
    void cyclicGraphThroughTheCli(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("cyclic.registration");
        Files.writeString(f, new TestGraphs.B()
                .path("a-1", 100, "b-1", "a-1")
                .path("b-1", 200, "a-1", "c-1")
                .path("c-1", 400, "c-1", "b-1")
                .registration());
        Cli.Result r = Cli.run("audit", "size", "--closure", f.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("\"closureSize\": 700"), r.out());
    }
}
