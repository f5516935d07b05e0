package dev.microforge.cli;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.image.ImageFormats;
import dev.microforge.image.Verify;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.RawNames;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check (hashing on --threads) that an image holds exactly the closure's store paths and that each one's NAR hash, "
                + "computed from the image, equals the closure's narHash (or, when the closure has none, the store's).",
            "Exit 3 with a report when it does not."})
public final class ImageVerifyCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The image file (SquashFS or EROFS).")
    Path image;

    @Mixin
    ClosureOptions closure;

    @Option(names = "--registration", paramLabel = "NAME",
            description = "A root file of this name is expected besides the store paths (built with --registration).")
    String registration;

    @Mixin
    ThreadsOption threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Terminal term = Terminal.forStderr(spec.commandLine().getErr());
        ClosureGraph graph = closure.graph();
        int t = threads.count();
        Set<String> generated = registration == null ? Set.of() : Set.of(registration);
        Verify.Report report = ImageFormats.read(image,
                fs -> Verify.verify(fs, graph, ImageClosures.expectedNar(graph, closure), generated, t, term));
        for (String line : report.lines()) {
            out.println(RawNames.display(line));
        }
        out.flush();
        if (!report.ok()) {
            throw new AuditViolation(image + ": does not match the closure: " + report.missing().size() + " missing, "
                    + report.extra().size() + " not in the closure, " + report.mismatches().size() + " with different content");
        }
        out.println("ok: " + report.checked() + " store paths, each with the expected narHash");
        out.flush();
        return 0;
    }
}
