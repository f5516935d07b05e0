package dev.microforge.vm;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A host device passed through to the guest (microvm.nix {@code microvm.devices.*}); qemu only.
 *
 * @param bus             pci (vfio-pci, {@code path} a PCI address such as 0000:01:00.0) or usb ({@code path} the
 *                        usb-host properties, e.g. vendorid=0x1234,productid=0x5678)
 * @param path            the device on its bus
 * @param qemuId          qemu device id or null
 * @param qemuBus         qemu bus to attach it to (e.g. a pcie-root-port id) or null
 * @param deviceExtraArgs extra qemu device properties (key=value,...) or null
 */
public record Device(String bus, String path, String qemuId, String qemuBus, String deviceExtraArgs) {
    /** A PCI address as sysfs names it: domain:bus:slot.function. */
    static final Pattern PCI_ADDRESS = Pattern.compile("[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");

    public Device {
        Check.required("bus", bus);
        Check.oneOf("bus", bus, List.of("pci", "usb"));
        Check.token("path", path, 255, "device path");
        if (bus.equals("pci") && !PCI_ADDRESS.matcher(path).matches()) {
            throw new SpecError("path", "'" + path + "' is not a PCI address like 0000:01:00.0");
        }
        if (qemuId != null) {
            Check.token("qemu.id", qemuId, 64, "device id");
            if (qemuId.indexOf(',') >= 0) {
                throw new SpecError("qemu.id", "must not contain ','");
            }
        }
        if (qemuBus != null) {
            Check.token("qemu.bus", qemuBus, 64, "bus id");
            if (qemuBus.indexOf(',') >= 0) {
                throw new SpecError("qemu.bus", "must not contain ','");
            }
        }
        if (deviceExtraArgs != null) {
            Check.token("qemu.deviceExtraArgs", deviceExtraArgs, 4096, "device properties");
        }
    }
}
