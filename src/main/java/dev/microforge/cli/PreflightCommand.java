package dev.microforge.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.runner.Host;
import dev.microforge.runner.Preflight;
import dev.microforge.util.JsonPretty;
import dev.microforge.util.RawNames;
import dev.microforge.vm.VmSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "preflight", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Checks this host for a VM: what the hypervisor supports, /dev/kvm, the kernel's format, the store disk's "
                    + "and volumes' file systems, tap flags and owners, macvtap MAC/link/mode/state, bridges, "
                    + "bridge.conf and the bridge helper, block devices (access, not mounted), image sizes and free "
                    + "space, virtiofsd, stale sockets (removed).",
            "Text: each finding is one line on stderr: what, why, and the fix (on NixOS the NixOS option); JSON: "
                    + "one object per finding on stdout. Exit code 1 when any check fails."})
public final class PreflightCommand implements Callable<Integer> {
    @Mixin
    SpecOptions spec;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Where /dev, /sys, /etc and /proc are (default: /; another root is for tests).")
    Path root;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Spec
    CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = cmd.commandLine().getErr();
        PrintWriter out = cmd.commandLine().getOut();
        Terminal term = Terminal.forStderr(err);
        VmSpec vm = spec.read(term);
        Host cur = Host.current();
        Host host = new Host(root, cur.cwd(), cur.path(), cur.isRoot(), cur.userName());
        String external = System.getenv("MICROVM_VIRTIOFSD_EXTERNAL"); // set by microforge's units (host/Units)
        List<Preflight.Finding> findings = Preflight.run(vm, spec.accel, host, external != null && !external.isEmpty());
        int errors = 0;
        int warnings = 0;
        for (Preflight.Finding f : findings) {
            if (f.severity() == Preflight.Severity.ERROR) {
                errors++;
            } else if (f.severity() == Preflight.Severity.WARNING) {
                warnings++;
            }
        }
        if (format == OutputFormat.json) {
            out.print(json(vm, host.nixos(), findings, errors, warnings));
            out.flush();
            return errors > 0 ? 1 : 0;
        }
        for (Preflight.Finding f : findings) {
            err.println("preflight: " + RawNames.display(f.line(host.nixos())));
        }
        err.flush();
        String w = warnings > 0 ? warnings + " warning" + (warnings == 1 ? "" : "s") : "";
        if (errors > 0) {
            out.println("preflight: " + RawNames.display(vm.name()) + " (" + vm.hypervisor() + "): " + errors + " problem" + (errors == 1 ? "" : "s")
                    + (w.isEmpty() ? "" : ", " + w) + ": fix " + (errors == 1 ? "it" : "them")
                    + ", or start without preflight: microvm-run --no-preflight (or MICROVM_NO_PREFLIGHT=1)");
            return 1;
        }
        out.println("preflight: " + RawNames.display(vm.name()) + " (" + vm.hypervisor() + "): ok" + (w.isEmpty() ? "" : " (" + w + ")"));
        return 0;
    }

    /** {@code {"vm", "hypervisor", "nixos", "errors", "warnings", "findings": [{check, subject, severity, message, fix, fixNixos}]}}. */
    static String json(VmSpec vm, boolean nixos, List<Preflight.Finding> findings, int errors, int warnings) {
        StringWriter sw = new StringWriter();
        try (JsonGenerator j = new JsonFactory().createGenerator(sw)) {
            j.setPrettyPrinter(JsonPretty.printer());
            j.writeStartObject();
            j.writeStringField("vm", vm.name());
            j.writeStringField("hypervisor", vm.hypervisor().id());
            j.writeBooleanField("nixos", nixos);
            j.writeNumberField("errors", errors);
            j.writeNumberField("warnings", warnings);
            j.writeArrayFieldStart("findings");
            for (Preflight.Finding f : findings) {
                j.writeStartObject();
                j.writeStringField("check", f.check());
                j.writeStringField("subject", f.subject());
                j.writeStringField("severity", f.severity().name().toLowerCase(Locale.ROOT));
                j.writeStringField("message", f.message());
                j.writeStringField("fix", f.fix());
                j.writeStringField("fixNixos", f.fixNixos());
                j.writeEndObject();
            }
            j.writeEndArray();
            j.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sw.toString() + "\n";
    }
}
