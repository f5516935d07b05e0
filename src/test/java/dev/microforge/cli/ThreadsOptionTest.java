package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.audit.SelfContainedAudit;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureScan;
import dev.microforge.image.ImageOptions;
import dev.microforge.testkit.Cli;
import dev.microforge.util.Events;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --threads} means the same in every command: 1 to 256, one message, exit 2; the core applies the same rule. */
class ThreadsOptionTest {
    /** Every command that takes --threads, with the other arguments it needs to get as far as parsing it. */
    private static final List<List<String>> COMMANDS = List.of(
            List.of("nar", "hash", "README.md"),
            List.of("closure", "scan", "--closure", "tests/example/closure.json"),
            List.of("image", "build", "--type", "erofs", "--closure", "tests/example/closure.json", "-o", "x.img"),
            List.of("image", "build", "--type", "squashfs", "--closure", "tests/example/closure.json", "-o", "x.img"),
            List.of("image", "verify", "x.img", "--closure", "tests/example/closure.json"),
            List.of("audit", "self-contained", "--closure", "tests/example/closure.json"));

    @Test
    void everyCommandRefusesTheSameValuesWithTheSameLine() {
        for (List<String> cmd : COMMANDS) {
            String qualified = "microforge " + cmd.get(0) + " " + cmd.get(1);
            for (String bad : List.of("0", "-1", "257", "1024", "99999999999", "x", "", "2.5")) {
                List<String> args = new ArrayList<>(cmd);
                args.addAll(List.of("--threads", bad));
                Cli.Result r = Cli.run(args.toArray(String[]::new));
                assertEquals(2, r.exitCode(), args + ": " + r.err());
                assertEquals("", r.out(), args.toString());
                assertEquals("microforge: --threads: '" + bad + "' is not a number of threads from 1 to 256 (see '"
                        + qualified + " --help')\n", r.err(), args.toString());
            }
        }
    }

    @Test
    void theCommandsAboveAreAllThatTakeThreads() {
        CommandLine top = new CommandLine(new Main());
        Main.addSubcommands(top);
        Set<String> found = new TreeSet<>();
        ArrayDeque<CommandLine> todo = new ArrayDeque<>(top.getSubcommands().values());
        while (!todo.isEmpty()) {
            CommandLine c = todo.pop();
            todo.addAll(c.getSubcommands().values());
            CommandLine.Model.OptionSpec o = c.getCommandSpec().findOption("--threads");
            if (o != null) {
                found.add(c.getCommandSpec().qualifiedName());
                assertEquals("N", o.paramLabel(), c.getCommandSpec().qualifiedName());
                assertTrue(c.getCommandSpec().mixins().values().stream()
                        .anyMatch(m -> m.userObject() instanceof ThreadsOption), c.getCommandSpec().qualifiedName());
            }
        }
        Set<String> expected = new TreeSet<>();
        for (List<String> cmd : COMMANDS) {
            expected.add("microforge " + cmd.get(0) + " " + cmd.get(1));
        }
        assertEquals(expected, found);
    }

    @Test
    void oneToTheMaximumIsAccepted() {
        Cli.Result one = Cli.run("nar", "hash", "--threads", "1", "README.md");
        assertEquals(0, one.exitCode(), one.err());
        Cli.Result max = Cli.run("nar", "hash", "--threads", "256", "README.md");
        assertEquals(0, max.exitCode(), max.err());
        assertEquals(one.out(), max.out());
        Cli.Result spaced = Cli.run("nar", "hash", "--threads", " 2 ", "README.md");
        assertEquals(0, spaced.exitCode(), spaced.err());
        assertEquals(one.out(), spaced.out());
        // 256 passes the option check: the run then fails on the missing file, not on --threads
        Cli.Result missing = Cli.run("image", "verify", "--threads", "256", "no-such.img",
                "--closure", "tests/example/closure.json");
        assertEquals(2, missing.exitCode(), missing.err());
        assertTrue(missing.err().contains("no-such.img") && !missing.err().contains("threads"), missing.err());
    }

    @Test
    void theCoreAppliesTheSameRuleAndMessage() {
        for (int bad : new int[] {0, -1, 257, Integer.MAX_VALUE}) {
            UserError e = assertThrows(UserError.class, () -> ImageOptions.defaults().withThreads(bad));
            assertEquals("--threads: '" + bad + "' is not a number of threads from 1 to 256", e.getMessage());
            UserError a = assertThrows(UserError.class,
                    () -> new SelfContainedAudit.Options(List.of(), null, null, bad, false));
            assertEquals(e.getMessage(), a.getMessage());
            assertThrows(UserError.class, () -> new Threads(bad));
            ClosureGraph empty = ClosureGraph.of("/nix/store", "test", List.of());
            UserError scan = assertThrows(UserError.class,
                    () -> ClosureScan.scan(empty, Path.of("/nix/store"), bad, Events.NONE));
            assertEquals(e.getMessage(), scan.getMessage());
            UserError fill = assertThrows(UserError.class,
                    () -> ClosureScan.withComputedNarInfo(empty, Path.of("/nix/store"), bad, Events.NONE));
            assertEquals(e.getMessage(), fill.getMessage());
        }
        assertEquals(256, ImageOptions.defaults().withThreads(256).threads());
        assertEquals(Math.min(256, Runtime.getRuntime().availableProcessors()), ImageOptions.defaults().threads());
        assertEquals(ImageOptions.defaults().threads(), Threads.available().count());
    }
}
