package dev.microforge.cli;

import dev.microforge.audit.Glob;
import dev.microforge.audit.Growth;
import dev.microforge.audit.HtmlReport;
import dev.microforge.audit.ReportFormat;
import dev.microforge.audit.SizeAudit;
import dev.microforge.audit.SizeReport;
import dev.microforge.audit.SizeReportRenderer;
import dev.microforge.closure.ClosureFormat;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureReader;
import dev.microforge.closure.ClosureScan;
import dev.microforge.store.StorePath;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.Sizes;
import dev.microforge.util.Tasks;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "size", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Closure size audit: totals, the top N paths by added size (what leaves the closure if the path goes) "
                    + "with their shortest why-chain from a root, forbidden paths, and the diff against a baseline "
                    + "grouped by package like 'nix store diff-closures'.",
            "Exit code 3 (after printing the report) when the closure is over --budget, grew more than --max-growth, "
                    + "or contains a path matching --forbid."})
public final class AuditSizeCommand implements Callable<Integer> {
    @Mixin
    ClosureOptions closure;

    @Option(names = "--root", paramLabel = "PATH", arity = "1..*",
            description = "Audit the closure of these store paths only (default: the closure's declared roots, else every path nothing refers to).")
    List<String> roots = new ArrayList<>();

    @Option(names = "--budget", paramLabel = "SIZE",
            description = "Fail when the closure size (sum of narSize) exceeds SIZE (e.g. 1.5G, 800M).")
    String budget;

    @Option(names = "--baseline", paramLabel = "FILE",
            description = "A closure file of the previous build (any closure format): report added, removed and changed packages.")
    Path baseline;

    @Option(names = "--baseline-format", paramLabel = "FORMAT", defaultValue = "auto",
            description = "Format of --baseline (default: ${DEFAULT-VALUE}).")
    String baselineFormat = "auto";

    @Option(names = "--max-growth", paramLabel = "SIZE|PCT",
            description = "With --baseline: fail when the closure grew by more than SIZE (50M) or PCT of the baseline (5%%).")
    String maxGrowth;

    @Option(names = "--forbid", paramLabel = "GLOB", arity = "1..*",
            description = "Fail when a path matches GLOB (on its name, <hash>-<name> or the whole path; * ? [..]), e.g. '*-gcc-*', '*-dev'.")
    List<String> forbid = new ArrayList<>();

    @Option(names = "--top", paramLabel = "N", defaultValue = "20",
            description = "How many paths to list by added size (default: ${DEFAULT-VALUE}; 0 for none).")
    int top = 20;

    @Mixin
    AuditOutput output;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        output.checkTarget();
        long budgetBytes = budget == null ? -1 : parseSize("--budget", budget);
        Growth growth = maxGrowth == null ? null : Growth.parse(maxGrowth);
        if (growth != null && baseline == null) {
            throw new UserError("--max-growth needs --baseline");
        }
        List<Glob> globs = forbid.stream().map(Glob::compile).toList();
        String storeDir = closure.storeDir();
        List<StorePath> rootPaths = new ArrayList<>();
        for (String r : roots) {
            rootPaths.add(StorePath.parseAt(storeDir, r, "--root"));
        }
        Terminal terminal = Terminal.forStderr(spec.commandLine().getErr());
        // the baseline is read (and reduced to names and sizes) on a second thread while this one reads the current
        // closure; its errors are reported first, as when it was read first
        FutureTask<SizeAudit.Baseline> baselineTask = null;
        if (baseline != null) {
            ClosureFormat bf;
            try {
                bf = ClosureFormat.parse(baselineFormat);
            } catch (IllegalArgumentException e) {
                throw new UserError("--baseline-format: " + e.getMessage());
            }
            Path file = baseline;
            boolean allowEmpty = closure.allowEmpty();
            baselineTask = new FutureTask<>(() -> SizeAudit.baseline(
                    ClosureReader.nonEmpty(ClosureReader.read(file, bf, storeDir), allowEmpty)));
            Thread t = new Thread(baselineTask, "read-baseline");
            t.setDaemon(true);
            t.start();
        }
        // the current closure is audited without waiting for the baseline (only the diff needs it); any failure here
        // waits for the baseline first, so a bad baseline is reported before a bad current closure
        FutureTask<SizeAudit.Baseline> bt = baselineTask;
        SizeReport report;
        ClosureGraph g;
        try {
            ClosureGraph current = closure.graph();
            if (bt != null && !hasSizes(current)) {
                Tasks.awaitUnchecked(bt); // no sizes computed from disk for a run that fails on its baseline
            }
            g = withSizes(current);
            report = SizeAudit.run(g, bt == null ? null : () -> Tasks.awaitUnchecked(bt),
                    new SizeAudit.Options(rootPaths, top, budgetBytes, growth, globs), terminal);
        } catch (RuntimeException e) {
            if (bt != null) {
                Tasks.awaitUnchecked(bt);
            }
            throw e;
        }
        output.emit(spec.commandLine().getOut(), output.format() == ReportFormat.HTML
                ? HtmlReport.render(g, rootPaths, report) : SizeReportRenderer.render(report, output.format()));
        if (!report.ok()) {
            List<String> msgs = new ArrayList<>();
            for (SizeReport.Rule r : report.failed()) {
                msgs.add(r.rule() + ": " + r.message());
            }
            throw new AuditViolation("audit size failed: " + String.join("; ", msgs));
        }
        return 0;
    }

    private static boolean hasSizes(ClosureGraph g) {
        for (int i = 0; i < g.size(); i++) {
            if (g.narSize(i) < 0) {
                return false;
            }
        }
        return true;
    }

    /** Fills narSize from disk (NAR serialization) for members whose closure file did not carry it. */
    private ClosureGraph withSizes(ClosureGraph g) {
        if (!hasSizes(g)) {
            Terminal t = Terminal.forStderr(spec.commandLine().getErr());
            return ClosureScan.withComputedNarInfo(g, closure.realStore(), Threads.available().count(), t);
        }
        return g;
    }

    static long parseSize(String option, String text) {
        try {
            return Sizes.parse(text);
        } catch (UserError e) {
            throw new UserError(option + ": " + e.getMessage());
        }
    }
}
