package dev.microforge.cli;

import dev.microforge.host.Units;
import dev.microforge.runner.Runner;
import dev.microforge.util.UserError;
import dev.microforge.vm.VmSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "units", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Writes the systemd units of a VM into a directory: microforge-vm@NAME.service (runs RUNNER/bin/microvm-run, "
                    + "stops with microvm-shutdown), microforge-taps@NAME and microforge-macvtaps@NAME (its interfaces), "
                    + "microforge-virtiofsd-TAG@NAME (one per virtiofs share) and microforge-vms.target. See docs/host.md. "
                    + "A runner generated with --microforge none has no clean shutdown: its VM is then stopped by SIGTERM.",
            "The directory appears complete or not at all."})
public final class UnitsCommand implements Callable<Integer> {
    @Mixin
    SpecOptions spec;

    @Option(names = "--runner", required = true, paramLabel = "DIR",
            description = "Absolute path of the runner directory on the host (a store path, or e.g. /var/lib/microforge/NAME/current).")
    String runner;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "The VM's working directory: relative images and sockets, the 'booted' link (default /var/lib/microforge/NAME).")
    String stateDir;

    @Option(names = "--ip", paramLabel = "PATH", defaultValue = Units.DEFAULT_IP, description = "The ip(8) binary (default ${DEFAULT-VALUE}).")
    String ip;

    @Option(names = "--virtiofsd", paramLabel = "PATH", defaultValue = Units.DEFAULT_VIRTIOFSD,
            description = "virtiofsd, unless the spec names one (default ${DEFAULT-VALUE}).")
    String virtiofsd;

    @Option(names = "--virtiofsd-style", paramLabel = "c|rust",
            description = "Command-line style of virtiofsd (default: c for /usr/lib/qemu/virtiofsd, rust otherwise).")
    String virtiofsdStyle;

    @Option(names = "--shell", paramLabel = "PATH", defaultValue = Units.DEFAULT_SHELL, description = "A POSIX shell (default ${DEFAULT-VALUE}).")
    String shell;

    @Option(names = "--path", paramLabel = "DIRS", description = "PATH for the units' processes (default: systemd's).")
    String path;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The directory to write the unit files to (replaced if it exists).")
    Path output;

    @Spec
    CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        Terminal term = Terminal.forStderr(cmd.commandLine().getErr());
        VmSpec vm = spec.read(term);
        Units.Options o = new Units.Options(runner, stateDir != null ? stateDir : "/var/lib/microforge/" + vm.name(), ip,
                virtiofsd, virtiofsdStyle, shell, path);
        Map<String, byte[]> files;
        try {
            files = Units.generate(vm, spec.bytes, spec.accel, o, term);
        } catch (UserError e) {
            throw new UserError(e.getMessage().startsWith("--") ? e.getMessage() : spec.spec + ": " + e.getMessage());
        }
        Runner.write(files, output);
        cmd.commandLine().getOut().println(files.size() + " units for " + vm.name() + " written to " + output);
        return 0;
    }
}
