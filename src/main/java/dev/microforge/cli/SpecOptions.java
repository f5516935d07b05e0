package dev.microforge.cli;

import dev.microforge.runner.Accel;
import dev.microforge.util.Events;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that read a VM spec: --spec, --hypervisor, --accel. */
public final class SpecOptions {
    @Option(names = "--spec", required = true, paramLabel = "FILE", description = "The VM spec (JSON, see docs/vm-spec.md).")
    Path spec;

    @Option(names = "--hypervisor", paramLabel = "NAME",
            description = "qemu, cloud-hypervisor, firecracker, crosvm or kvmtool (default: the spec's hypervisor).")
    String hypervisor;

    @Option(names = "--accel", paramLabel = "MODE", defaultValue = "auto",
            description = "kvm, tcg (software emulation, qemu only) or auto (KVM, falling back to TCG with qemu; default).")
    Accel accel = Accel.AUTO;

    byte[] bytes;

    /** Reads the spec (keeping its bytes) and applies --hypervisor. */
    VmSpec read(Events events) throws IOException {
        bytes = InputFiles.read(spec, VmSpecReader.MAX_SPEC_BYTES, "a VM spec");
        VmSpec s = VmSpecReader.parse(bytes, spec.toString(), events);
        if (hypervisor != null) {
            try {
                s = s.withHypervisor(Hypervisor.of(hypervisor, "--hypervisor"));
            } catch (UserError e) {
                throw new UserError(e.getMessage());
            }
        }
        return s;
    }
}
