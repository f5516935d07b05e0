package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Main registers only the subcommand a run names (start-up cost), and all of them whenever that could show. */
class SubcommandRegistrationTest {
    private static Set<String> registered(String... args) {
        CommandLine cl = new CommandLine(new Main());
        Main.addSubcommands(cl, args);
        return cl.getSubcommands().keySet();
    }

    private static final List<String> ALL = List.of("nar", "closure", "audit", "image", "runner", "units", "vm", "preflight", "shutdown", "nix",
            "generate-completion");

    @Test
    void aNamedSubcommandAloneOtherwiseAllInHelpOrder() {
        assertEquals(Set.of("nar"), registered("nar", "hash", "x"));
        assertEquals(Set.of("closure"), registered("--stacktrace", "closure", "scan", "--closure", "nar"));
        assertEquals(List.copyOf(ALL), List.copyOf(registered()));
        assertEquals(List.copyOf(ALL), List.copyOf(registered("--help")));
        assertEquals(List.copyOf(ALL), List.copyOf(registered("narr", "hash")));
        assertEquals(List.copyOf(ALL), List.copyOf(registered("generate-completion")));
    }

    @Test
    void helpSuggestionsAndCompletionStillSeeEverySubcommand() {
        String help = Cli.run("--help").out();
        for (String name : ALL) {
            assertTrue(help.contains("\n  " + name + " "), name + " missing from:\n" + help);
        }
        Cli.Result typo = Cli.run("imgae", "build");
        assertEquals(2, typo.exitCode());
        assertTrue(typo.err().contains("Did you mean: microforge image?"), typo.err());
        String completion = Cli.run("generate-completion").out();
        assertTrue(completion.contains("preflight") && completion.contains("runner") && completion.contains("closure"), "completion");
    }
}
