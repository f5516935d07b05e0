package dev.microforge.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureScan;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.JsonPretty;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "scan", mixinStandardHelpOptions = true,
        description = {"Recompute narHash, narSize and references of every path of a closure from the bytes on disk",
            "(paths scanned in parallel on --threads) and report every difference from what the closure file declares.",
            "References are found with Nix's algorithm; the candidates are the closure's own paths.",
            "Exit code 0 when everything agrees, 3 when there are differences."})
public final class ClosureScanCommand implements Runnable {
    @Mixin
    ClosureOptions closure;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Mixin
    ThreadsOption threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        ClosureGraph g = closure.graph();
        Terminal term = Terminal.forStderr(spec.commandLine().getErr());
        int n = threads.count();
        List<ClosureScan.Result> results = ClosureScan.scan(g, closure.realStore(), n, term);
        List<ClosureScan.Difference> diffs = ClosureScan.compare(g, results);
        long bytes = 0;
        for (ClosureScan.Result r : results) {
            bytes += r.narSize();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.print(json(g, results, diffs, bytes));
        } else {
            for (ClosureScan.Difference d : diffs) {
                out.println(RawNames.display(d.message()));
            }
            out.println("scanned " + g.size() + " paths (" + bytes + " bytes of NAR): "
                    + (diffs.isEmpty() ? "no differences" : diffs.size() + (diffs.size() == 1 ? " difference" : " differences")));
        }
        out.flush();
        if (!diffs.isEmpty()) {
            throw new AuditViolation("");
        }
    }

    private static String json(ClosureGraph g, List<ClosureScan.Result> results, List<ClosureScan.Difference> diffs, long bytes) {
        StringWriter sw = new StringWriter();
        try (JsonGenerator j = new JsonFactory().createGenerator(sw)) {
            j.setPrettyPrinter(JsonPretty.printer());
            j.writeStartObject();
            j.writeNumberField("paths", g.size());
            j.writeNumberField("narSize", bytes);
            j.writeArrayFieldStart("differences");
            for (ClosureScan.Difference d : diffs) {
                j.writeStartObject();
                j.writeStringField("path", d.path().path());
                j.writeStringField("field", d.field());
                j.writeStringField("declared", d.declared());
                j.writeStringField("actual", d.actual());
                j.writeEndObject();
            }
            j.writeEndArray();
            j.writeArrayFieldStart("scanned");
            for (ClosureScan.Result r : results) {
                j.writeStartObject();
                j.writeStringField("path", r.path().path());
                j.writeStringField("narHash", r.narHash().toSri());
                j.writeNumberField("narSize", r.narSize());
                j.writeArrayFieldStart("references");
                for (var p : r.references()) {
                    j.writeString(p.path());
                }
                j.writeEndArray();
                j.writeEndObject();
            }
            j.writeEndArray();
            j.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return sw + "\n";
    }
}
