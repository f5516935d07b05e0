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

    /**
     * A host path from the spec that becomes a whole argument, or the start of one: a relative path starting with
     * '-' gets "./" in front (the same file), so no hypervisor CLI reads it as an option ({@code kernel:
     * "--disable-sandbox"} reaches crosvm as the file ./--disable-sandbox).
     */
    static String pathArg(String path) {
        return path.startsWith("-") ? "./" + path : path;
    }

    /** The kernel command line: the hypervisor's console/reboot parameters, then the spec's. */
    static String cmdline(List<String> base, VmSpec spec) {
        List<String> all = new ArrayList<>(base);
        all.addAll(spec.kernelParams());
        return String.join(" ", all);
    }
}
