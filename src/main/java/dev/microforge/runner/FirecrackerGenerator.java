package dev.microforge.runner;

import static dev.microforge.runner.Shell.lit;
import static dev.microforge.runner.Shell.var;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * firecracker: the VM is described by {@code share/microvm/firecracker.json} (the API's FullVmConfiguration:
 * boot-source, machine-config, drives, network-interfaces, vsock, balloon) and started with
 * {@code firecracker --config-file ... --api-sock SOCKET}. Drives use the io_uring engine ("Async"). Firecracker
 * cannot set disk serials: drive ids are derived from the serials, the guest sees the disks in spec order.
 * Clean shutdown: SendCtrlAltDel through the API ({@code microforge shutdown}, which then waits for firecracker to exit).
 */
final class FirecrackerGenerator implements Generator {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Plan plan(VmSpec spec, Accel accel) {
        if (spec.vcpu() > 32) {
            throw new UserError("vcpu: firecracker supports at most 32 vcpus, got " + spec.vcpu());
        }
        ObjectNode root = JSON.createObjectNode();
        ObjectNode boot = root.putObject("boot-source");
        boot.put("kernel_image_path", spec.kernel());
        if (spec.initrd() != null) {
            boot.put("initrd_path", spec.initrd());
        }
        boot.put("boot_args", Generator.cmdline(List.of("console=ttyS0", "reboot=k", "panic=1", "pci=off",
                "i8042.noaux", "i8042.nomux", "i8042.nopnp", "i8042.dumbkbd"), spec));
        ObjectNode machine = root.putObject("machine-config");
        machine.put("vcpu_count", spec.vcpu());
        machine.put("mem_size_mib", spec.mem());
        machine.put("smt", false);
        ArrayNode drives = root.putArray("drives");
        Set<String> ids = new HashSet<>();
        if (spec.storeDisk() != null) {
            ObjectNode d = drives.addObject();
            d.put("drive_id", driveId(spec.storeDisk().serial(), ids));
            d.put("path_on_host", spec.storeDisk().image());
            d.put("is_root_device", false);
            d.put("is_read_only", true);
            d.put("io_engine", spec.hv().firecrackerDriveIoEngine());
        }
        for (Volume v : spec.volumes()) {
            ObjectNode d = drives.addObject();
            d.put("drive_id", driveId(v.serial(), ids));
            d.put("path_on_host", v.image());
            d.put("is_root_device", false);
            d.put("is_read_only", v.readOnly());
            d.put("io_engine", spec.hv().firecrackerDriveIoEngine());
        }
        ArrayNode nets = root.putArray("network-interfaces");
        for (NetInterface n : spec.interfaces()) {
            ObjectNode o = nets.addObject();
            o.put("iface_id", n.id());
            o.put("host_dev_name", n.id());
            o.put("guest_mac", n.mac());
        }
        if (spec.vsockCid() != null) {
            ObjectNode vs = root.putObject("vsock");
            vs.put("guest_cid", spec.vsockCid());
            vs.put("uds_path", Runner.vsockSocket(spec));
        }
        if (spec.balloon()) {
            ObjectNode b = root.putObject("balloon");
            b.put("amount_mib", 0);
            b.put("deflate_on_oom", spec.deflateOnOOM());
        }
        if (spec.hv().firecrackerExtraConfig() != null) {
            merge(root, spec.hv().firecrackerExtraConfig());
        }
        byte[] config;
        try {
            config = (JSON.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        List<Shell.Word> c = new ArrayList<>();
        c.add(lit("firecracker"));
        c.add(lit("--config-file"));
        c.add(Shell.word(var("share"), "/firecracker.json"));
        c.add(lit("--api-sock"));
        c.add(lit(Generator.pathArg(spec.socket())));
        for (String a : spec.extraArgsFor(Hypervisor.FIRECRACKER)) {
            c.add(lit(a));
        }
        Shell.Script s = new Shell.Script();
        s.assign("socket", Generator.pathArg(spec.socket()));
        s.code(Runner.SHUTDOWN_CALL);
        return new Plan(c, Map.of("firecracker.json", config), s.toString());
    }

    /**
     * microvm.nix's firecracker.extraConfig: merged as nixpkgs' lib.recursiveUpdate does (objects on both sides
     * merge, anything else from {@code extra} replaces).
     */
    static void merge(ObjectNode into, ObjectNode extra) {
        extra.fields().forEachRemaining(e -> {
            var old = into.get(e.getKey());
            if (old instanceof ObjectNode o && e.getValue() instanceof ObjectNode n) {
                merge(o, n);
            } else {
                into.set(e.getKey(), e.getValue().deepCopy());
            }
        });
    }

    /** Firecracker ids are [A-Za-z0-9_]: the serial with other bytes replaced by '_', made unique. */
    static String driveId(String serial, Set<String> used) {
        String id = serial.replaceAll("[^A-Za-z0-9_]", "_");
        String u = id;
        for (int n = 2; !used.add(u); n++) {
            u = id + "_" + n;
        }
        return u;
    }
}
