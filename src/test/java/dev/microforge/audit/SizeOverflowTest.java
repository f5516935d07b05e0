package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * narSizes whose sum passes 2^63 - 1: bad input (exit 2, one line naming the file), never a negative size or a
 * passed budget. Each size alone is a valid long.
 */
class SizeOverflowTest {
    static final long BIG = 5_000_000_000_000_000_000L; // two of them pass Long.MAX_VALUE

    @TempDir
    Path tmp;

    /** top -> a, b; each of a and b is BIG bytes. */
    Path registration() throws IOException {
        Path f = tmp.resolve("huge.registration");
        Files.writeString(f, new TestGraphs.B()
                .path("top-1", 1, "a-1", "b-1")
                .path("a-1", BIG)
                .path("b-1", BIG)
                .registration());
        return f;
    }

    Path pathInfoJson() throws IOException {
        Path f = tmp.resolve("huge.json");
        String h = "\"narHash\": \"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"";
        Files.writeString(f, "[\n"
                + " {\"path\": \"" + TestGraphs.sp("a-1") + "\", " + h + ", \"narSize\": " + BIG + ", \"references\": []},\n"
                + " {\"path\": \"" + TestGraphs.sp("b-1") + "\", " + h + ", \"narSize\": " + BIG + ", \"references\": []}\n"
                + "]\n");
        return f;
    }

    @Test
    void closureShowRejectsTheFile() throws IOException {
        for (Path f : new Path[] {registration(), pathInfoJson()}) {
            for (String format : new String[] {"text", "json"}) {
                Cli.Result r = Cli.run("closure", "show", "--closure", f.toString(), "--format", format);
                AuditSizeCliTest.badInput(f + ": the narSizes add up to more than 9223372036854775807 bytes", r);
            }
        }
    }

    @Test
    void auditSizeDoesNotPassTheBudget() throws IOException {
        Path f = registration();
        Cli.Result r = Cli.run("audit", "size", "--closure", f.toString(), "--budget", "1K");
        AuditSizeCliTest.badInput(f + ": the narSizes add up to more than", r);
        Cli.Result asBaseline = Cli.run("audit", "size", "--closure", AuditSizeCliTest.res("current.registration").toString(),
                "--baseline", f.toString(), "--max-growth", "5%");
        AuditSizeCliTest.badInput(f + ": the narSizes add up to more than", asBaseline);
    }

    @Test
    void largestSumThatFitsIsAccepted() throws IOException {
        Path f = tmp.resolve("max.registration");
        Files.writeString(f, new TestGraphs.B()
                .path("top-1", 1, "a-1", "b-1")
                .path("a-1", Long.MAX_VALUE - BIG - 1)
                .path("b-1", BIG)
                .registration());
        Cli.Result r = Cli.run("closure", "show", "--closure", f.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains(" closure " + Long.MAX_VALUE + "\n"), r.out());
        Cli.Result budget = Cli.run("audit", "size", "--closure", f.toString(), "--budget", "1K");
        assertEquals(3, budget.exitCode(), budget.out() + budget.err());
        assertTrue(budget.err().contains("exceeds the budget of 1.0 KiB"), budget.err());
        assertTrue(budget.out().contains(Long.toString(Long.MAX_VALUE)) || budget.out().contains("PiB"), budget.out());
    }

    @Test
    void graphsBuiltInMemoryAreCheckedToo() {
        UserError e = assertThrows(UserError.class, () -> new TestGraphs.B().path("a-1", BIG).path("b-1", BIG).build());
        assertTrue(e.getMessage().startsWith("test: the narSizes add up to more than"), e.getMessage());
    }

    @Test
    void percentGrowthOfAHugeBaselineSaturates() {
        assertEquals(Long.MAX_VALUE, Growth.parse("1000%").allowed(Long.MAX_VALUE / 2));
        assertEquals(50, Growth.parse("5%").allowed(1000));
    }

    @Test
    void nineteenDigitNarSizeIsBadInput() throws IOException {
        Path f = tmp.resolve("19digits.registration");
        Files.writeString(f, new TestGraphs.B().path("a-1", 1).registration().replace("\n1\n\n0\n", "\n9999999999999999999\n\n0\n"));
        AuditSizeCliTest.badInput(f + ":3: narSize of " + TestGraphs.sp("a-1") + " 9999999999999999999 is too large",
                Cli.run("closure", "show", "--closure", f.toString()));
    }

}
