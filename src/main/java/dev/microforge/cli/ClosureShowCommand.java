package dev.microforge.cli;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureSizes;
import dev.microforge.closure.PathInfo;
import dev.microforge.closure.PathInfoJson;
import dev.microforge.store.StorePath;
import dev.microforge.util.Sizes;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Print a closure graph.",
            "Text: per path a line '<path> <narSize> <narHash> closure <closureSize>' ('-' where unknown) and its references indented.",
            "JSON: the list shape of 'nix path-info --json' (path, narHash, narSize, references, closureSize, deriver)."})
public final class ClosureShowCommand implements Runnable {
    @Mixin
    ClosureOptions closure;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        ClosureGraph g = closure.graph();
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.print(new String(PathInfoJson.writeList(g), StandardCharsets.UTF_8));
            out.flush();
            return;
        }
        long[] cs = ClosureSizes.of(g);
        long total = 0;
        boolean known = true;
        for (int i = 0; i < g.size(); i++) {
            PathInfo pi = g.at(i);
            out.println(pi.path() + " " + (pi.hasNarSize() ? Long.toString(pi.narSize()) : "-") + " "
                    + (pi.narHash() != null ? pi.narHash().toSri() : "-") + " closure "
                    + (cs[i] >= 0 ? Long.toString(cs[i]) : "-"));
            for (StorePath r : pi.references()) {
                out.println("  " + r);
            }
            if (pi.hasNarSize()) {
                total = Math.addExact(total, pi.narSize());
            } else {
                known = false;
            }
        }
        out.println(g.size() + " paths, " + (known ? total + " bytes (" + Sizes.human(total) + ") of NAR" : "narSize unknown")
                + ", roots: " + String.join(" ", g.roots().stream().map(StorePath::path).toList()));
        out.flush();
    }
}
