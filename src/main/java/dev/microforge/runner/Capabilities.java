package dev.microforge.runner;

import static dev.microforge.runner.Capabilities.Feature.*;

import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.Identity;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * THE capability matrix: what each hypervisor's runner supports (rendered in docs/hypervisors.md; a test keeps the
 * two in sync). {@link #check} refuses a spec that asks for an unsupported feature with an error naming the feature,
 * the spec field and the hypervisor.
 */
public record Capabilities(Hypervisor hypervisor, Set<Feature> features, int maxDisks) {
    public enum Feature {
        SHARE_VIRTIOFS("virtiofs shares"),
        SHARE_9P("9p shares"),
        NET_USER("user (SLiRP) networking"),
        NET_TAP("tap interfaces"),
        NET_MACVTAP("macvtap interfaces"),
        NET_BRIDGE("bridge interfaces (qemu-bridge-helper)"),
        FORWARD_PORTS("forwardPorts"),
        DISK_SERIAL("disk serials"),
        DISK_DIRECT("direct (O_DIRECT) disks"),
        BLK_MULTIQUEUE("virtio-blk multi-queue (one queue per vcpu)"),
        IO_URING("io_uring disk I/O"),
        VSOCK("vsock"),
        BALLOON("balloon"),
        USER_SWITCH("switching user (user)"),
        CLEAN_SHUTDOWN("clean shutdown (microvm-shutdown)"),
        HUGEPAGES("huge page memory (hugepageMem)"),
        VHOST_NET("vhost-net (tap.vhost)"),
        IMAGE_FORMATS("qcow2, vhd, vhdx volumes (imageType)"),
        CREDENTIALS("systemd credentials (credentialFiles, fw_cfg)"),
        PASSTHROUGH("PCI/USB passthrough (devices)"),
        BALLOON_NO_DEFLATE("balloon without deflate on OOM (deflateOnOOM false)"),
        TCG("software emulation (--accel tcg)");

        private final String text;

        Feature(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    public static final int UNLIMITED = Integer.MAX_VALUE;

    private static final Map<Hypervisor, Capabilities> MATRIX = Map.of(
            Hypervisor.QEMU, new Capabilities(Hypervisor.QEMU, EnumSet.of(SHARE_VIRTIOFS, SHARE_9P, NET_USER, NET_TAP,
                    NET_MACVTAP, NET_BRIDGE, FORWARD_PORTS, DISK_SERIAL, DISK_DIRECT, BLK_MULTIQUEUE, IO_URING, VSOCK,
                    BALLOON, USER_SWITCH, CLEAN_SHUTDOWN, TCG, HUGEPAGES, VHOST_NET, IMAGE_FORMATS, CREDENTIALS, PASSTHROUGH,
                    BALLOON_NO_DEFLATE), UNLIMITED),
            Hypervisor.CLOUD_HYPERVISOR, new Capabilities(Hypervisor.CLOUD_HYPERVISOR, EnumSet.of(SHARE_VIRTIOFS, NET_TAP,
                    NET_MACVTAP, DISK_SERIAL, DISK_DIRECT, BLK_MULTIQUEUE, IO_URING, VSOCK, BALLOON, CLEAN_SHUTDOWN, HUGEPAGES,
                    IMAGE_FORMATS, BALLOON_NO_DEFLATE), UNLIMITED),
            Hypervisor.FIRECRACKER, new Capabilities(Hypervisor.FIRECRACKER, EnumSet.of(NET_TAP, IO_URING, VSOCK, BALLOON,
                    CLEAN_SHUTDOWN, BALLOON_NO_DEFLATE), UNLIMITED),
            Hypervisor.CROSVM, new Capabilities(Hypervisor.CROSVM, EnumSet.of(SHARE_VIRTIOFS, SHARE_9P, NET_TAP, NET_MACVTAP,
                    DISK_SERIAL, DISK_DIRECT, VSOCK, BALLOON, CLEAN_SHUTDOWN), UNLIMITED),
            Hypervisor.KVMTOOL, new Capabilities(Hypervisor.KVMTOOL, EnumSet.of(SHARE_9P, NET_USER, NET_TAP, NET_MACVTAP,
                    DISK_DIRECT, VSOCK, BALLOON), 4));

    public Capabilities {
        features = Set.copyOf(features);
    }

    public static Capabilities of(Hypervisor h) {
        return MATRIX.get(h);
    }

    /** The matrix as a Markdown table (docs/hypervisors.md embeds exactly this; a test keeps them equal). */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder("| feature |");
        for (Hypervisor h : Hypervisor.values()) {
            sb.append(' ').append(h.id()).append(" |");
        }
        sb.append("\n|---|");
        for (int i = 0; i < Hypervisor.values().length; i++) {
            sb.append("---|");
        }
        sb.append('\n');
        for (Feature f : Feature.values()) {
            sb.append("| ").append(f.text()).append(" |");
            for (Hypervisor h : Hypervisor.values()) {
                sb.append(of(h).has(f) ? " yes |" : " no |");
            }
            sb.append('\n');
        }
        sb.append("| disks (store disk included) |");
        for (Hypervisor h : Hypervisor.values()) {
            int m = of(h).maxDisks();
            sb.append(m == UNLIMITED ? " any |" : " at most " + m + " |");
        }
        sb.append('\n');
        return sb.toString();
    }

    public boolean has(Feature f) {
        return features.contains(f);
    }

    private void require(Feature f, String field, List<String> problems) {
        if (!has(f)) {
            problems.add(field + ": " + hypervisor + " does not support " + f.text() + "; supported by: " + supporters(f));
        }
    }

    static String supporters(Feature f) {
        StringBuilder sb = new StringBuilder();
        for (Hypervisor h : Hypervisor.values()) {
            if (of(h).has(f)) {
                sb.append(sb.isEmpty() ? "" : ", ").append(h.id());
            }
        }
        return sb.isEmpty() ? "none" : sb.toString();
    }

    /**
     * Refuses what this hypervisor cannot do. Serials that were derived (not written in the spec) on a hypervisor
     * without serial support only give a warning: the disks are still attached in spec order.
     */
    public void check(VmSpec spec, Accel accel, Events events) {
        List<String> problems = problems(spec, accel, events);
        if (!problems.isEmpty()) {
            throw new UserError(problems.get(0));
        }
    }

    /** Every feature the spec asks for that this hypervisor cannot do, as {@code FIELD: why} (all of them, in spec order). */
    public List<String> problems(VmSpec spec, Accel accel, Events events) {
        List<String> problems = new ArrayList<>();
        if (accel == Accel.TCG) {
            require(TCG, "--accel tcg", problems);
        }
        int disks = spec.volumes().size() + (spec.storeDisk() != null ? 1 : 0);
        if (disks > maxDisks) {
            problems.add("volumes: " + hypervisor + " supports at most " + maxDisks + " disks"
                    + (spec.storeDisk() != null ? " (including the store disk)" : "") + ", this VM has " + disks);
        }
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            String p = "volumes[" + i + "]";
            if (!has(DISK_SERIAL) && !v.serial().equals(Identity.serialFor(v.image()))) {
                require(DISK_SERIAL, p + ".serial", problems);
            }
            if (v.direct()) {
                require(DISK_DIRECT, p + ".direct", problems);
            }
            if (!v.imageType().equals("raw")) {
                require(IMAGE_FORMATS, p + ".imageType", problems);
            }
        }
        if (spec.storeDisk() != null && !has(DISK_SERIAL) && !spec.storeDisk().serial().equals(Identity.STORE_SERIAL)) {
            require(DISK_SERIAL, "storeDisk.serial", problems);
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            require(s.proto() == Share.Proto.VIRTIOFS ? SHARE_VIRTIOFS : SHARE_9P, "shares[" + i + "].proto", problems);
        }
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            Feature f = switch (n.type()) {
                case USER -> NET_USER;
                case TAP -> NET_TAP;
                case MACVTAP -> NET_MACVTAP;
                case BRIDGE -> NET_BRIDGE;
            };
            require(f, "interfaces[" + i + "].type", problems);
            if (n.vhost()) {
                require(VHOST_NET, "interfaces[" + i + "].tap.vhost", problems);
            }
        }
        if (spec.hugepageMem()) {
            require(HUGEPAGES, "hugepageMem", problems);
        }
        if (!spec.credentialFiles().isEmpty()) {
            require(CREDENTIALS, "credentialFiles", problems);
        }
        if (!spec.devices().isEmpty()) {
            require(PASSTHROUGH, "devices", problems);
        }
        if (spec.balloon() && !spec.deflateOnOOM()) {
            require(BALLOON_NO_DEFLATE, "deflateOnOOM", problems);
        }
        if (!spec.forwardPorts().isEmpty()) {
            require(FORWARD_PORTS, "forwardPorts", problems);
        }
        if (spec.vsockCid() != null) {
            require(VSOCK, "vsock.cid", problems);
        }
        if (spec.balloon()) {
            require(BALLOON, "balloon", problems);
        }
        if (spec.user() != null) {
            require(USER_SWITCH, "user", problems);
        }
        if (hypervisor == Hypervisor.FIRECRACKER && spec.socket() == null) {
            problems.add("socket: firecracker needs an API socket; set socket (default NAME.sock) instead of null");
        }
        if (problems.isEmpty() && !has(DISK_SERIAL) && !spec.volumes().isEmpty()) {
            events.warn(hypervisor + " cannot set disk serials: the guest sees the volumes in spec order (/dev/vda"
                    + (spec.storeDisk() != null ? " is the store disk" : " is volumes[0]") + "), not at /dev/disk/by-id/virtio-SERIAL");
        }
        return problems;
    }
}
