package dev.microforge.vm;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The hypervisors microforge generates runners for, named as in microvm.nix's {@code microvm.hypervisor}. */
public enum Hypervisor {
    QEMU("qemu"),
    CLOUD_HYPERVISOR("cloud-hypervisor"),
    FIRECRACKER("firecracker"),
    CROSVM("crosvm"),
    KVMTOOL("kvmtool");

    private final String id;

    Hypervisor(String id) {
        this.id = id;
    }

    /** The name used in specs, on the command line and in microvm.nix. */
    public String id() {
        return id;
    }

    @Override
    public String toString() {
        return id;
    }

    public static String allIds() {
        return Arrays.stream(values()).map(Hypervisor::id).collect(Collectors.joining(", "));
    }

    /** Parses a hypervisor name; {@code field} names where it came from for the error. */
    public static Hypervisor of(String name, String field) {
        for (Hypervisor h : values()) {
            if (h.id.equals(name)) {
                return h;
            }
        }
        if (name.equals("stratovirt") || name.equals("alioth") || name.equals("vfkit")) {
            throw new SpecError(field, "hypervisor '" + name + "' (a microvm.nix option) is not supported by microforge; use one of " + allIds());
        }
        throw new SpecError(field, "unknown hypervisor '" + name + "'" + DidYouMean.suggest(name, Arrays.stream(values()).map(Hypervisor::id).toList())
                + "; expected one of " + allIds());
    }
}
