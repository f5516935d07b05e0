package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Usage errors are exactly one line on stderr, exit 2, nothing on stdout. */
class UsageErrorTest {
    static void oneLine(List<String> args) {
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(2, r.exitCode(), args + ": " + r.err());
        assertEquals("", r.out(), args.toString());
        assertTrue(r.err().startsWith("microforge: ") && r.err().endsWith("\n"), args + ": " + r.err());
        assertEquals(1, r.err().split("\n", -1).length - 1, args + ": " + r.err());
    }

    @Test
    void picocliUsageErrorsAreOneLine() {
        for (List<String> args : List.of(
                List.of("image", "build", "--threads", "99999999999"),
                List.of("image", "build", "--no-such-option"),
                List.of("nar", "hash"),
                List.of("image", "ls"),
                List.of("imgae", "build"),
                List.of("image", "lss"),
                List.of("closure", "show", "--closure"))) {
            oneLine(args);
        }
        Cli.Result typo = Cli.run("image", "build", "--threads", "x");
        assertTrue(typo.err().contains("(see 'microforge image build --help')"), typo.err());
    }

    @Test
    void everyThreadsOptionTakesOneTo1024() throws Exception {
        for (List<String> cmd : List.of(
                List.of("nar", "hash", "README.md"),
                List.of("closure", "scan", "--closure", "tests/example/closure.json"),
                List.of("image", "build", "--type", "erofs"),
                List.of("image", "verify", "x.img"),
                List.of("audit", "self-contained", "--closure", "tests/example/closure.json"))) {
            for (String bad : List.of("-1", "0", "1025", "99999999999", "x", "")) {
                List<String> args = new java.util.ArrayList<>(cmd);
                args.addAll(List.of("--threads", bad));
                oneLine(args);
                Cli.Result r = Cli.run(args.toArray(String[]::new));
                assertTrue(r.err().contains("'--threads'") && r.err().contains("1 to 1024"), args + ": " + r.err());
            }
        }
        for (String good : List.of("1", "1024")) {
            Cli.Result r = Cli.run("nar", "hash", "--threads", good, "README.md");
            assertEquals(0, r.exitCode(), r.err());
        }
    }
}
