package dev.microforge.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.host.VmList;
import dev.microforge.util.JsonPretty;
import dev.microforge.util.RawNames;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "list", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Lists the VMs under the state directory (each NAME/ with a 'current' runner link): running (its 'booted' "
                    + "runner is the current one), outdated (it runs an older runner; restart it to update) or stopped.",
            "Text: NAME STATE RUNNER per line. JSON: [{\"name\", \"state\", \"current\", \"booted\"}]."})
public final class VmListCommand implements Callable<Integer> {
    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/microforge",
            description = "Where the VMs' state directories are (default ${DEFAULT-VALUE}).")
    String stateDir;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/", description = "Read the host under DIR (tests).")
    Path root;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text", description = "text or json.")
    OutputFormat format;

    @Spec
    CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        List<VmList.Vm> vms = VmList.list(root.toAbsolutePath().normalize(), stateDir);
        PrintWriter out = cmd.commandLine().getOut();
        if (format == OutputFormat.json) {
            StringWriter sw = new StringWriter();
            try (JsonGenerator j = new JsonFactory().createGenerator(sw)) {
                j.setPrettyPrinter(JsonPretty.printer());
                j.writeStartArray();
                for (VmList.Vm v : vms) {
                    j.writeStartObject();
                    j.writeStringField("name", v.name());
                    j.writeStringField("state", v.state().name());
                    j.writeStringField("current", v.current());
                    if (v.booted() == null) {
                        j.writeNullField("booted");
                    } else {
                        j.writeStringField("booted", v.booted());
                    }
                    j.writeEndObject();
                }
                j.writeEndArray();
            }
            out.println(sw);
        } else {
            for (VmList.Vm v : vms) {
                // names and link targets come from the file system: control bytes are escaped in text
                out.println(RawNames.display(v.name()) + " " + v.state() + " " + RawNames.display(v.current())
                        + (v.state() == VmList.State.outdated ? " (running " + RawNames.display(v.booted()) + ")" : ""));
            }
        }
        out.flush();
        return 0;
    }
}
