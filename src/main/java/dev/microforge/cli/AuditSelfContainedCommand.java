package dev.microforge.cli;

import dev.microforge.audit.Glob;
import dev.microforge.audit.ReportFormat;
import dev.microforge.audit.SelfContainedAudit;
import dev.microforge.audit.SelfContainedRenderer;
import dev.microforge.audit.SelfContainedReport;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.NotClosedException;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "self-contained", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Is the closure closed (every declared reference present) and honest (rescanning every path's NAR finds no "
                    + "undeclared reference and no hash of a store path outside the closure)? Each finding names the "
                    + "file inside the store path and the referenced path.",
            "Candidates: the closure's hashes plus every store path present in --candidate-store (default: the "
                    + "directory holding the store paths); when that holds no other path, the outside-candidates rule "
                    + "fails unless --no-outside-candidates; see docs/audit.md.",
            "Exit code 3 (after printing the report) when a rule fails."})
public final class AuditSelfContainedCommand implements Callable<Integer> {
    @Mixin
    ClosureOptions closure;

    @Option(names = "--candidate-store", paramLabel = "DIR",
            description = "List this directory for other store paths whose hashes must not occur (default: the directory "
                    + "holding the closure's store paths).")
    Path candidateStore;

    @Option(names = "--no-store-candidates",
            description = "Look only for the closure's own hashes (skip listing the store for other paths); implies "
                    + "--no-outside-candidates.")
    boolean noStoreCandidates;

    @Option(names = "--no-outside-candidates",
            description = "Accept that the candidate store holds no path outside the closure (then nothing outside can be "
                    + "found: the report says so in a warning line); without it that fails the outside-candidates rule.")
    boolean noOutsideCandidates;

    @Option(names = "--image", paramLabel = "IMG",
            description = "Also scan this image file's raw bytes for the closure's hashes (what a Nix build of the image "
                    + "would record as its references) and print the remedy.")
    Path image;

    @Option(names = "--forbid", paramLabel = "GLOB", arity = "1..*",
            description = "Fail when a path of the closure matches GLOB (e.g. a runner must not reference '*-nixos-system-*').")
    List<String> forbid = new ArrayList<>();

    @Mixin
    ThreadsOption threads;

    @Mixin
    AuditOutput output;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        output.checkTarget();
        List<Glob> globs = forbid.stream().map(Glob::compile).toList();
        if (output.format() == ReportFormat.HTML) {
            throw new UserError("--format html is only for audit size (here: text, json or markdown)");
        }
        if (image != null) {
            try {
                InputFiles.requireRegular(image);
            } catch (UserError e) {
                throw new UserError("--image " + e.getMessage());
            }
        }
        ClosureGraph g;
        List<NotClosedException.Dangling> dangling = List.of();
        try {
            g = closure.graph();
        } catch (NotClosedException e) {
            g = e.openGraph();
            dangling = e.dangling();
        }
        Path real = closure.realStore();
        Path candidates = noStoreCandidates ? null : candidateStore != null ? candidateStore : real;
        Terminal terminal = Terminal.forStderr(spec.commandLine().getErr());
        SelfContainedReport report = SelfContainedAudit.run(g, dangling, real,
                new SelfContainedAudit.Options(globs, candidates, image, threads.count(),
                        noOutsideCandidates || noStoreCandidates), terminal);
        output.emit(spec.commandLine().getOut(), SelfContainedRenderer.render(report, output.format()));
        if (!report.ok()) {
            List<String> msgs = new ArrayList<>();
            for (var r : report.failed()) {
                msgs.add(r.rule() + ": " + r.message());
            }
            throw new AuditViolation("audit self-contained failed: " + String.join("; ", msgs));
        }
        return 0;
    }
}
