package dev.microforge.bench;

import dev.microforge.audit.ReportFormat;
import dev.microforge.audit.SizeAudit;
import dev.microforge.audit.SizeReport;
import dev.microforge.audit.SizeReportRenderer;
import dev.microforge.closure.ClosureFormat;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureReader;
import dev.microforge.util.Events;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;

/**
 * Times the phases of {@code audit size --top 20 --baseline} in one JVM (wall clock and process CPU time, so the
 * figures stay meaningful on a shared machine): {@code java ... AuditPhases CURRENT BASELINE}.
 */
public final class AuditPhases {
    private AuditPhases() {}

    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) {
        long w0 = System.nanoTime();
        long c0 = cpu();
        SizeAudit.Baseline b = SizeAudit.baseline(ClosureReader.read(Path.of(args[1]), ClosureFormat.AUTO, "/nix/store"));
        long w1 = System.nanoTime();
        long c1 = cpu();
        ClosureGraph g = ClosureReader.read(Path.of(args[0]), ClosureFormat.AUTO, "/nix/store");
        long w2 = System.nanoTime();
        long c2 = cpu();
        SizeReport r = SizeAudit.run(g, b, new SizeAudit.Options(List.of(), 20, -1, null, List.of()), Events.NONE);
        long w3 = System.nanoTime();
        long c3 = cpu();
        String text = SizeReportRenderer.render(r, ReportFormat.TEXT);
        long w4 = System.nanoTime();
        long c4 = cpu();
        System.out.printf("paths %d; read baseline %d ms (cpu %d); read current %d ms (cpu %d); audit %d ms (cpu %d); render %d ms (cpu %d); report %d bytes%n",
                g.size(), (w1 - w0) / 1_000_000, (c1 - c0) / 1_000_000, (w2 - w1) / 1_000_000, (c2 - c1) / 1_000_000,
                (w3 - w2) / 1_000_000, (c3 - c2) / 1_000_000, (w4 - w3) / 1_000_000, (c4 - c3) / 1_000_000, text.length());
    }
}
