package dev.microforge.vm;

/**
 * A qemu PCIe root port for hot-plugging or placing devices (microvm.nix {@code microvm.qemu.pcieRootPorts.*}):
 * {@code -device pcie-root-port,id=ID[,bus=BUS][,chassis=N][,slot=S][,addr=A]}.
 */
public record PcieRootPort(String id, String bus, Integer chassis, String slot, String addr) {
    public PcieRootPort {
        token("id", id);
        if (bus != null) {
            token("bus", bus);
        }
        if (chassis != null) {
            Check.range("chassis", chassis, 0, 255, "");
        }
        if (slot != null) {
            token("slot", slot);
        }
        if (addr != null) {
            token("addr", addr);
        }
    }

    private static void token(String field, String v) {
        Check.token(field, v, 64, field);
        if (v.indexOf(',') >= 0 || v.indexOf('=') >= 0) {
            throw new SpecError(field, "must not contain ',' or '='");
        }
    }
}
