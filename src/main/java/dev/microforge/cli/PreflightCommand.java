package dev.microforge.cli;

import dev.microforge.runner.Capabilities;
import dev.microforge.runner.Host;
import dev.microforge.runner.Preflight;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import dev.microforge.vm.VmSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "preflight", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Checks this host for a VM: /dev/kvm, tap devices, bridges and bridge.conf, macvtap links, block devices "
                    + "(access, not mounted), image sizes and free space, virtiofsd, stale sockets (removed).",
            "Each problem is one line: what, why, and the fix. Exit code 1 when any check fails."})
public final class PreflightCommand implements Callable<Integer> {
    @Mixin
    SpecOptions spec;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Where /dev, /sys, /etc and /proc are (default: /; another root is for tests).")
    Path root;

    @Spec
    picocli.CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = cmd.commandLine().getErr();
        PrintWriter out = cmd.commandLine().getOut();
        Terminal term = Terminal.forStderr(err);
        VmSpec vm = spec.read(term);
        try {
            Capabilities.of(vm.hypervisor()).check(vm, spec.accel, term);
        } catch (UserError e) {
            throw new UserError(spec.spec + ": " + e.getMessage());
        }
        Host cur = Host.current();
        Host host = new Host(root, cur.cwd(), cur.path(), cur.isRoot(), cur.userName());
        List<Preflight.Finding> findings = Preflight.run(vm, spec.accel, host);
        int errors = 0;
        int warnings = 0;
        for (Preflight.Finding f : findings) {
            err.println("preflight: " + RawNames.display(f.line()));
            if (f.severity() == Preflight.Severity.ERROR) {
                errors++;
            } else if (f.severity() == Preflight.Severity.WARNING) {
                warnings++;
            }
        }
        err.flush();
        if (errors > 0) {
            out.println("preflight: " + RawNames.display(vm.name()) + " (" + vm.hypervisor() + "): " + errors + " problem" + (errors == 1 ? "" : "s")
                    + (warnings > 0 ? ", " + warnings + " warning" + (warnings == 1 ? "" : "s") : ""));
            return 1;
        }
        out.println("preflight: " + RawNames.display(vm.name()) + " (" + vm.hypervisor() + "): ok" + (warnings > 0 ? " (" + warnings + " warning"
                + (warnings == 1 ? "" : "s") + ")" : ""));
        return 0;
    }
}
