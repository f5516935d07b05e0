package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.nio.file.Path;
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

    /**
     * Every option and positional that takes a path (typed Path, or labelled FILE, DIR, PATH, IMG, ...), of every
     * command, refuses '' with one usage line; the other required arguments get plausible values.
     */
    @Test
    void anEmptyPathIsAUsageErrorEverywhere() {
        picocli.CommandLine top = new picocli.CommandLine(new Main());
        Main.addSubcommands(top);
        java.util.List<picocli.CommandLine> leaves = new java.util.ArrayList<>();
        java.util.ArrayDeque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(top.getSubcommands().values());
        while (!todo.isEmpty()) {
            picocli.CommandLine c = todo.pop();
            if (c.getSubcommands().isEmpty()) {
                leaves.add(c);
            } else {
                todo.addAll(c.getSubcommands().values());
            }
        }
        int checked = 0;
        for (picocli.CommandLine leaf : new java.util.LinkedHashSet<>(leaves)) {
            var spec = leaf.getCommandSpec();
            java.util.List<picocli.CommandLine.Model.ArgSpec> all = new java.util.ArrayList<>(spec.options());
            all.addAll(spec.positionalParameters());
            for (picocli.CommandLine.Model.ArgSpec target : all) {
                boolean path = Main.PATH_LABELS.contains(target.paramLabel()) || target.type() == Path.class
                        || java.util.Arrays.asList(target.auxiliaryTypes()).contains(Path.class);
                if (!path) {
                    continue;
                }
                java.util.List<String> args = new java.util.ArrayList<>(List.of(spec.qualifiedName().split(" ")));
                args.remove(0);
                // positionals first: an option of arity 1..* would take them
                for (picocli.CommandLine.Model.PositionalParamSpec p : spec.positionalParameters()) {
                    args.add(p == target ? "" : plausible(p));
                }
                for (picocli.CommandLine.Model.OptionSpec o : spec.options()) {
                    if (o == target) {
                        args.addAll(List.of(o.longestName(), ""));
                    } else if (o.required()) {
                        args.addAll(List.of(o.longestName(), plausible(o)));
                    }
                }
                oneLine(args);
                Cli.Result r = Cli.run(args.toArray(String[]::new));
                assertTrue(r.err().contains("must not be empty"), args + ": " + r.err());
                checked++;
            }
        }
        assertTrue(checked >= 30, "path arguments checked: " + checked);
    }

    /** A value picocli accepts for {@code a}: its first completion candidate, a hypervisor, a number or "x". */
    static String plausible(picocli.CommandLine.Model.ArgSpec a) {
        java.util.Iterator<String> c = a.completionCandidates() == null ? null : a.completionCandidates().iterator();
        if (c != null && c.hasNext()) {
            return c.next();
        }
        if (a.paramLabel().equals("H")) {
            return "qemu";
        }
        return a.type() == int.class || a.type() == Integer.class || a.type() == long.class ? "1" : "x";
    }
}
