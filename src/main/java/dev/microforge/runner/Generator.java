package dev.microforge.runner;

import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import java.util.ArrayList;
import java.util.List;

/** One hypervisor's part of a runner (see {@link Plan}). The spec has passed {@link Capabilities#check}. */
interface Generator {
    Plan plan(VmSpec spec, Accel accel);

    static Generator of(Hypervisor h) {
        return switch (h) {
            case QEMU -> new QemuGenerator();
            case CLOUD_HYPERVISOR -> new CloudHypervisorGenerator();
            case FIRECRACKER -> new FirecrackerGenerator();
            case CROSVM -> new CrosvmGenerator();
            case KVMTOOL -> new KvmtoolGenerator();
        };
    }

    /** The kernel command line: the hypervisor's console/reboot parameters, then the spec's. */
    static String cmdline(List<String> base, VmSpec spec) {
        List<String> all = new ArrayList<>(base);
        all.addAll(spec.kernelParams());
        return String.join(" ", all);
    }
}
