package dev.microforge.cli;

import dev.microforge.audit.DotGraph;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureSizes;
import dev.microforge.closure.PathInfoJson;
import dev.microforge.store.Hash;
import dev.microforge.util.Sizes;
import dev.microforge.util.UserError;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Print a closure graph.",
            "Text: per path a line '<path> <narSize> <narHash> closure <closureSize>' ('-' where unknown) and its references indented.",
            "JSON: the list shape of 'nix path-info --json' (path, narHash, narSize, references, closureSize, deriver).",
            "dot: Graphviz, boxes sized and coloured by added size (--top N: the N largest only)."})
public final class ClosureShowCommand implements Runnable {
    @Mixin
    ClosureOptions closure;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    ShowFormat format;

    /** --format of closure show. */
    enum ShowFormat {
        text, json, dot
    }

    @Option(names = "--top", paramLabel = "N", defaultValue = "0",
            description = "With --format dot: draw only the N paths with the largest added size (default: all).")
    int top;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (top != 0 && format != ShowFormat.dot) {
            throw new UserError("--top is only for --format dot");
        }
        if (format == ShowFormat.dot) {
            PrintWriter dot = spec.commandLine().getOut();
            dot.print(DotGraph.render(closure.graph(), top));
            dot.flush();
            return;
        }
        ClosureGraph g = closure.graph();
        // streamed: one path at a time through a buffer (a million paths' output is never held as a whole)
        PrintWriter out = new PrintWriter(new BufferedWriter(spec.commandLine().getOut(), 1 << 16), false);
        if (format == ShowFormat.json) {
            try {
                PathInfoJson.writeList(g, out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        long[] cs = ClosureSizes.of(g);
        long total = 0;
        boolean known = true;
        for (int i = 0; i < g.size(); i++) {
            long size = g.narSize(i);
            Hash hash = g.narHash(i);
            out.print(g.pathString(i));
            out.print(' ');
            out.print(size >= 0 ? Long.toString(size) : "-");
            out.print(' ');
            out.print(hash != null ? hash.toSri() : "-");
            out.print(" closure ");
            out.print(cs[i] >= 0 ? Long.toString(cs[i]) : "-");
            out.print('\n');
            int[] starts = g.refStarts();
            int[] targets = g.refTargets();
            for (int k = starts[i]; k < starts[i + 1]; k++) {
                out.print("  ");
                out.print(g.pathString(targets[k]));
                out.print('\n');
            }
            if (size >= 0) {
                total = Math.addExact(total, size);
            } else {
                known = false;
            }
        }
        out.print(g.size() + " paths, " + (known ? total + " bytes (" + Sizes.human(total) + ") of NAR" : "narSize unknown")
                + ", roots: ");
        int[] roots = g.rootIndexes();
        for (int k = 0; k < roots.length; k++) {
            if (k > 0) {
                out.print(' ');
            }
            out.print(g.pathString(roots[k]));
        }
        out.print('\n');
        out.flush();
    }
}
