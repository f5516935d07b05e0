package dev.microforge.cli;

import dev.microforge.runner.Shutdown;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "shutdown", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Powers a running VM off cleanly over its control socket and waits, bounded, for the hypervisor to exit "
                    + "(what a runner's bin/microvm-shutdown runs). qemu: QMP system_powerdown (the ACPI power button); "
                    + "cloud-hypervisor: the API's power button; firecracker: SendCtrlAltDel; crosvm: crosvm powerbtn, then "
                    + "until nothing listens on the socket. Never reads standard input.",
            "Exit 0 when the hypervisor exited (or was not running), 1 when it refused or did not exit in time."})
public final class ShutdownCommand implements Callable<Integer> {
    @Option(names = "--hypervisor", required = true, paramLabel = "H", description = "qemu, cloud-hypervisor, firecracker or crosvm.")
    String hypervisor;

    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "The control socket (QMP or API) of the VM.")
    Path socket;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "How long to wait for the hypervisor to exit (default: ${DEFAULT-VALUE}).")
    int timeout;

    @Option(names = "--crosvm", defaultValue = "crosvm", paramLabel = "PROGRAM",
            description = "crosvm: the program that sends powerbtn (default: crosvm from PATH).")
    String crosvm;

    @Spec
    CommandLine.Model.CommandSpec cmd;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = cmd.commandLine().getErr();
        Hypervisor h = Hypervisor.of(hypervisor, "--hypervisor");
        if (timeout < 1 || timeout > 86400) {
            throw new UserError("--timeout: must be between 1 and 86400 seconds, got " + timeout);
        }
        try {
            Shutdown.Result r = Shutdown.run(h, socket, timeout * 1000L, crosvm, m -> {
                err.println("microforge shutdown: " + m);
                err.flush();
            });
            if (r == Shutdown.Result.EXITED) {
                err.println("microforge shutdown: " + h + " exited");
            }
            return 0;
        } catch (IOException e) {
            String why = e.getMessage() != null && e.getMessage().equals("timed out")
                    ? h + " did not exit within " + timeout + " s after the power-off request (does the guest handle the"
                            + " power button? acpid or systemd-logind; kill it if you must)"
                    : e.getMessage();
            // messages from Shutdown show the peer's bytes escaped already; the socket path is the user's
            err.println("microforge shutdown: " + RawNames.display(socket.toString()) + ": " + why);
            return 1;
        }
    }
}
