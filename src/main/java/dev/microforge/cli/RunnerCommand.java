package dev.microforge.cli;

import dev.microforge.runner.Runner;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import dev.microforge.vm.VmSpec;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "runner", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Writes a microVM runner directory (microvm.nix layout): bin/microvm-run, bin/microvm-shutdown where the "
                    + "hypervisor can shut down cleanly, share/microvm/ (spec, interface lists, virtiofs sockets, "
                    + "firecracker.json ...). The directory appears complete or not at all.",
            "microvm-run runs 'microforge preflight' first (skip with --no-preflight or MICROVM_NO_PREFLIGHT=1)."})
public final class RunnerCommand implements Callable<Integer> {
    @Mixin
    SpecOptions spec;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The runner directory to write (replaced if it exists).")
    Path output;

    @Option(names = "--microforge", paramLabel = "COMMAND",
            description = "How microvm-run calls microforge for its preflight, e.g. /usr/bin/microforge "
                    + "(default: this Java and class path; 'none' to leave preflight out).")
    String microforge;

    @Spec
    picocli.CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        Terminal term = Terminal.forStderr(cmd.commandLine().getErr());
        VmSpec vm = spec.read(term);
        var files = generate(vm, term);
        Runner.write(files, output);
        cmd.commandLine().getOut().println(RawNames.display("runner for " + vm.name() + " (" + vm.hypervisor() + ") written to " + output));
        return 0;
    }

    java.util.Map<String, byte[]> generate(VmSpec vm, Terminal term) {
        try {
            return Runner.generate(vm, spec.bytes, new Runner.Options(spec.accel, preflightCommand()), term);
        } catch (UserError e) {
            throw new UserError(spec.spec + ": " + e.getMessage());
        }
    }

    List<String> preflightCommand() {
        if (microforge != null) {
            return microforge.equals("none") ? List.of() : List.of(microforge);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cp = new ArrayList<>();
        for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!e.isEmpty()) {
                cp.add(Path.of(e).toAbsolutePath().normalize().toString());
            }
        }
        return List.of(java, "-cp", String.join(File.pathSeparator, cp), Main.class.getName());
    }
}
