package dev.microforge.cli;

import dev.microforge.audit.WhyDepends;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureReader;
import dev.microforge.util.UserError;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "why", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Why PATH depends on DEPENDENCY: every shortest chain of references from PATH to DEPENDENCY, drawn "
                + "as 'nix why-depends' draws it; --all: every reference on any chain (as 'nix why-depends --all'); "
                + "--precise: the file and the bytes around each reference.",
            "PATH and DEPENDENCY: store paths, <hash>-<name> or a name only one member has. Without --closure or "
                    + "--from-store the closure of PATH is read from the local store."})
public final class AuditWhyCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH")
    String from;

    @Parameters(index = "1", paramLabel = "DEPENDENCY")
    String to;

    @Mixin
    ClosureOptions closure;

    @Option(names = "--all", description = "Every reference on some chain from PATH to DEPENDENCY (a path is expanded once).")
    boolean all;

    @Option(names = "--precise", description = "Under each reference, the files that hold it and the bytes around it (needs the paths on disk: --real-store, or the store).")
    boolean precise;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most N shortest chains (default: ${DEFAULT-VALUE}).")
    int limit = 100;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (limit < 1) {
            throw new UserError("--limit must be at least 1: " + limit);
        }
        ClosureGraph g = closure.given() ? closure.graph() : ClosureReader.fromStore(List.of(from), closure.storeDir());
        int a = WhyDepends.resolve(g, from, "PATH");
        int b = WhyDepends.resolve(g, to, "DEPENDENCY");
        Path real = precise ? closure.realStore() : null;
        PrintWriter out = spec.commandLine().getOut();
        out.print(WhyDepends.render(g, a, b, all, precise, real, limit));
        out.flush();
        return 0;
    }
}
