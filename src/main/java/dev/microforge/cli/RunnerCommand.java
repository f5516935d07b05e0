package dev.microforge.cli;

import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "runner", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Writes a microVM runner directory (microvm.nix layout): bin/microvm-run, bin/microvm-shutdown where the "
                    + "hypervisor can shut down cleanly, share/microvm/ (spec, interface lists, virtiofs sockets, "
                    + "firecracker.json ...). The directory appears complete or not at all.",
            "microvm-run runs 'microforge preflight' first (skip with --no-preflight or MICROVM_NO_PREFLIGHT=1)."})
public final class RunnerCommand implements Callable<Integer> {
    @Mixin
    SpecOptions spec;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The runner directory to write: a new one, or one microforge wrote before (replaced whole; "
            + "a directory holding anything else is refused).")
    Path output;

    @Option(names = "--microforge", paramLabel = "CMD",
            description = "The microforge that microvm-run calls for its preflight and microvm-shutdown for 'microforge "
                    + "shutdown': a command name looked up on PATH when they run (default: 'microforge') or an absolute path "
                    + "such as a Nix store path (a relative path is refused: it would resolve against whatever directory they "
                    + "are started from); 'none' leaves preflight out and makes clean shutdown unavailable (microvm-shutdown "
                    + "says so and fails, so a units service is then stopped by SIGTERM).")
    String microforge;

    @Spec
    CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        preflightCommand(); // a bad --microforge is a usage error before anything else
        Runner.checkTarget(output);
        Terminal term = Terminal.forStderr(cmd.commandLine().getErr());
        VmSpec vm = spec.read(term);
        // under --accel auto (microvm.nix's default machine is microvm) the preflight refuses it at start when KVM is unusable
        if ("microvm".equals(vm.qemuMachine()) && vm.hypervisor() == Hypervisor.QEMU
                && spec.accel == Accel.TCG) {
            term.warn("qemu.machine microvm hangs under TCG: remove qemu.machine (the runner picks q35 for TCG, microvm for KVM)"
                    + " or generate with --accel kvm");
        }
        var files = generate(vm, term);
        Runner.write(files, output);
        cmd.commandLine().getOut().println(RawNames.display("runner for " + vm.name() + " (" + vm.hypervisor() + ") written to " + output));
        return 0;
    }

    Map<String, byte[]> generate(VmSpec vm, Terminal term) {
        try {
            return Runner.generate(vm, spec.bytes, new Runner.Options(spec.accel, preflightCommand()), term);
        } catch (UserError e) {
            throw new UserError(spec.spec + ": " + e.getMessage());
        }
    }

    /**
     * The command microvm-run runs as {@code CMD preflight ...} and microvm-shutdown as {@code CMD shutdown ...}: a
     * name on PATH or an absolute path, never this JVM's class path; empty for {@code none}.
     */
    List<String> preflightCommand() {
        if (microforge == null) {
            return List.of("microforge");
        }
        if (microforge.equals("none")) {
            return List.of();
        }
        if (microforge.isEmpty()) {
            throw new UserError("--microforge: must not be empty (a command name, an absolute path or none)");
        }
        if (microforge.contains("/") && !microforge.startsWith("/")) {
            throw new UserError("--microforge " + RawNames.display(microforge) + ": is a relative path, which would resolve "
                    + "against the directory microvm-run is started from; give an absolute path or a command name on PATH");
        }
        return List.of(microforge);
    }
}
