package dev.microforge.runner;

import static dev.microforge.runner.Shell.lit;
import static dev.microforge.runner.Shell.var;

import dev.microforge.vm.Device;
import dev.microforge.vm.ForwardPort;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.PcieRootPort;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * qemu-system-x86_64 (qemu 7.2 syntax). Machine {@code microvm} with PCIe for KVM, {@code q35} when TCG may be used
 * (microvm has no timer TCG guests can calibrate), unless the spec names one; every disk a
 * virtio-blk-pci with its serial and one queue per vcpu; {@code aio=${aio}} (io_uring when the host allows it, decided
 * by microvm-run); guest RAM from a shared memfd when a virtiofs share needs it; QMP on the spec's socket
 * (clean shutdown: system_powerdown via QMP, the guest powers off and qemu exits; {@code -no-reboot} makes a guest
 * reboot end qemu too).
 */
final class QemuGenerator implements Generator {
    static final String BRIDGE_HELPER = "/usr/lib/qemu/qemu-bridge-helper";

    /** The qemu-bridge-helper the runner passes to {@code -netdev bridge,helper=} (preflight checks the same). */
    static String bridgeHelper(VmSpec spec) {
        return spec.qemuBridgeHelper() != null ? spec.qemuBridgeHelper() : BRIDGE_HELPER;
    }

    @Override
    public Plan plan(VmSpec spec, Accel accel) {
        List<Shell.Word> c = new ArrayList<>();
        c.add(lit("qemu-system-x86_64"));
        add(c, "-name", spec.name());
        // microvm (as microvm.nix) needs KVM's clock: under TCG the guest cannot calibrate a timer and hangs, so
        // software emulation gets q35
        String machine = spec.qemuMachine() != null ? spec.qemuMachine() : accel == Accel.KVM ? "microvm" : "q35";
        VmSpec.HypervisorOptions hv = spec.hv();
        if (hv.qemuMachineOpts() != null) {
            // microvm.nix qemu.machineOpts: replaces the defaults, in name order as microvm.nix writes them
            QemuOpt m = QemuOpt.qemu(null).fixed(machine);
            hv.qemuMachineOpts().forEach((k, v) -> m.kv(k, v, "qemu.machineOpts." + k));
            c.add(lit("-M"));
            c.add(m.word());
        } else if (machine.equals("microvm")) {
            add(c, "-M", "microvm,pit=off,pic=off,rtc=on,pcie=on,usb=off,acpi=on");
        } else {
            c.add(lit("-M"));
            c.add(QemuOpt.qemu(null).fixed(machine).word());
        }
        switch (accel) {
            case KVM -> add(c, "-accel", "kvm", "-cpu", "host");
            case TCG -> add(c, "-accel", "tcg", "-cpu", "max");
            case AUTO -> add(c, "-accel", "kvm", "-accel", "tcg", "-cpu", "max");
        }
        add(c, "-m", Integer.toString(spec.mem()), "-smp", Integer.toString(spec.vcpu()));
        add(c, "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none");
        add(c, "-kernel", Generator.pathArg(spec.kernel()));
        if (spec.initrd() != null) {
            add(c, "-initrd", Generator.pathArg(spec.initrd()));
        }
        c.add(lit("-append"));
        c.add(lit(Generator.cmdline(hv.qemuSerialConsole() ? List.of("console=ttyS0", "reboot=t", "panic=-1")
                : List.of("reboot=t", "panic=-1"), spec)));
        if (hv.qemuSerialConsole()) {
            add(c, "-chardev", "stdio,id=stdio,signal=off", "-serial", "chardev:stdio");
        }
        if (machine.equals("microvm")) {
            add(c, "-device", "i8042");
        }
        add(c, "-device", "virtio-rng-pci");
        if (spec.machineId() != null) {
            add(c, "-smbios", "type=1,uuid=" + spec.machineId());
        }
        boolean virtiofs = spec.shares().stream().anyMatch(s -> s.proto() == Share.Proto.VIRTIOFS);
        if (virtiofs || spec.hugepageMem()) {
            add(c, "-object", "memory-backend-memfd,id=mem,size=" + spec.mem() + "M,share=on"
                    + (spec.hugepageMem() ? ",hugetlb=on" : ""), "-numa", "node,memdev=mem");
        }
        for (int i = 0; i < hv.qemuPcieRootPorts().size(); i++) {
            PcieRootPort p = hv.qemuPcieRootPorts().get(i);
            QemuOpt o = QemuOpt.qemu("pcie-root-port").fixed("id=" + p.id());
            if (p.bus() != null) {
                o.fixed("bus=" + p.bus());
            }
            if (p.chassis() != null) {
                o.fixed("chassis=" + p.chassis());
            }
            if (p.slot() != null) {
                o.fixed("slot=" + p.slot());
            }
            if (p.addr() != null) {
                o.fixed("addr=" + p.addr());
            }
            c.add(lit("-device"));
            c.add(o.word());
        }
        boolean usb = false;
        for (int i = 0; i < spec.devices().size(); i++) {
            Device d = spec.devices().get(i);
            String f = "devices[" + i + "]";
            QemuOpt o;
            if (d.bus().equals("pci")) {
                o = QemuOpt.qemu("vfio-pci").kv("host", d.path(), f + ".path").fixed("multifunction=on");
            } else {
                if (!usb) {
                    add(c, "-device", "qemu-xhci,id=microforge-usb");
                    usb = true;
                }
                // the path is usb-host's own properties (vendorid=...,productid=...), as in microvm.nix
                o = QemuOpt.qemu("usb-host").fixed(d.path());
            }
            if (d.qemuId() != null) {
                o.fixed("id=" + d.qemuId());
            }
            if (d.qemuBus() != null) {
                o.fixed("bus=" + d.qemuBus());
            }
            if (d.deviceExtraArgs() != null) {
                o.fixed(d.deviceExtraArgs());
            }
            c.add(lit("-device"));
            c.add(o.word());
        }
        for (Map.Entry<String, String> cred : spec.credentialFiles().entrySet()) {
            c.add(lit("-fw_cfg"));
            c.add(QemuOpt.qemu(null).kv("name", VmSpec.CREDENTIAL_PREFIX + cred.getKey(), "credentialFiles." + cred.getKey())
                    .kv("file", cred.getValue(), "credentialFiles." + cred.getKey()).word());
        }
        if (spec.storeDisk() != null) {
            c.add(lit("-drive"));
            c.add(QemuOpt.qemu("id=store").fixed("format=raw").fixed("if=none").fixed("read-only=on")
                    .kvVar("aio", var("aio")).kv("file", spec.storeDisk().image(), "storeDisk.image").word());
            c.add(lit("-device"));
            QemuOpt dev = QemuOpt.qemu("virtio-blk-pci").fixed("drive=store").kv("serial", spec.storeDisk().serial(), "storeDisk.serial");
            if (spec.vcpu() > 1) {
                dev.fixed("num-queues=" + spec.vcpu());
            }
            c.add(dev.word());
        }
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            String id = "vol" + i;
            QemuOpt d = QemuOpt.qemu("id=" + id).fixed("format=" + qemuFormat(v.imageType())).fixed("if=none").kvVar("aio", var("aio"))
                    .fixed("discard=unmap");
            if (v.direct()) {
                d.fixed("cache=none");
            }
            d.fixed("read-only=" + (v.readOnly() ? "on" : "off"));
            d.kv("file", v.image(), "volumes[" + i + "].image");
            c.add(lit("-drive"));
            c.add(d.word());
            c.add(lit("-device"));
            QemuOpt dev = QemuOpt.qemu("virtio-blk-pci").fixed("drive=" + id).kv("serial", v.serial(), "volumes[" + i + "].serial");
            if (spec.vcpu() > 1) {
                dev.fixed("num-queues=" + spec.vcpu());
            }
            c.add(dev.word());
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            String f = "shares[" + i + "]";
            if (s.proto() == Share.Proto.VIRTIOFS) {
                c.add(lit("-chardev"));
                c.add(QemuOpt.qemu("socket").fixed("id=fs" + i).kv("path", s.socket(), f + ".socket").word());
                c.add(lit("-device"));
                c.add(QemuOpt.qemu("vhost-user-fs-pci").fixed("chardev=fs" + i).kv("tag", s.tag(), f + ".tag").word());
            } else {
                c.add(lit("-fsdev"));
                QemuOpt fs = QemuOpt.qemu("local").fixed("id=fs" + i).kv("path", s.source(), f + ".source")
                        .fixed("security_model=" + s.securityModel());
                if (s.readOnly()) {
                    fs.fixed("readonly=on");
                }
                c.add(fs.word());
                c.add(lit("-device"));
                c.add(QemuOpt.qemu("virtio-9p-pci").fixed("fsdev=fs" + i).kv("mount_tag", s.tag(), f + ".tag").word());
            }
        }
        boolean mq = spec.vcpu() > 1;
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            String f = "interfaces[" + i + "]";
            QemuOpt nd;
            switch (n.type()) {
                case USER -> {
                    nd = QemuOpt.qemu("user").kv("id", n.id(), f + ".id");
                    for (ForwardPort p : spec.forwardPorts()) {
                        if (p.from().equals("host")) {
                            nd.fixed("hostfwd=" + p.proto() + ":" + p.host().address() + ":" + p.host().port() + "-"
                                    + p.guest().address() + ":" + p.guest().port());
                        } else {
                            nd.fixed("guestfwd=" + p.proto() + ":" + p.guest().address() + ":" + p.guest().port()
                                    + "-tcp:" + (p.host().address().isEmpty() ? "127.0.0.1" : p.host().address()) + ":" + p.host().port());
                        }
                    }
                }
                case TAP -> {
                    nd = QemuOpt.qemu("tap").kv("id", n.id(), f + ".id").kv("ifname", n.id(), f + ".id")
                            .fixed("script=no").fixed("downscript=no");
                    if (n.vhost()) {
                        nd.fixed("vhost=on");
                    }
                    if (mq) {
                        nd.fixed("queues=" + spec.vcpu());
                    }
                }
                case MACVTAP -> nd = QemuOpt.qemu("tap").kv("id", n.id(), f + ".id").kvVar("fd", var("macvtap_fd_" + i));
                case BRIDGE -> nd = QemuOpt.qemu("bridge").kv("id", n.id(), f + ".id").kv("br", n.bridge(), f + ".bridge")
                        .kv("helper", bridgeHelper(spec), "qemu.bridgeHelper");
                default -> throw new IllegalStateException();
            }
            c.add(lit("-netdev"));
            c.add(nd.word());
            QemuOpt dev = QemuOpt.qemu("virtio-net-pci").kv("netdev", n.id(), f + ".id").fixed("mac=" + n.mac()).fixed("romfile=");
            if (mq && n.type() == NetInterface.Type.TAP) {
                dev.fixed("mq=on").fixed("vectors=" + (2 * spec.vcpu() + 2));
            }
            c.add(lit("-device"));
            c.add(dev.word());
        }
        if (spec.vsockCid() != null) {
            add(c, "-device", "vhost-vsock-pci,guest-cid=" + spec.vsockCid());
        }
        if (spec.balloon()) {
            add(c, "-device", "virtio-balloon-pci,id=balloon0,deflate-on-oom=" + (spec.deflateOnOOM() ? "on" : "off")
                    + ",free-page-reporting=on");
        }
        if (spec.socket() != null) {
            c.add(lit("-chardev"));
            c.add(QemuOpt.qemu("socket").fixed("id=qmp").kv("path", spec.socket(), "socket").fixed("server=on").fixed("wait=off").word());
            add(c, "-mon", "chardev=qmp,mode=control");
        }
        if (spec.user() != null) {
            add(c, "-runas", spec.user());
        }
        for (String a : spec.extraArgsFor(Hypervisor.QEMU)) {
            c.add(lit(a));
        }
        String shutdown = null;
        if (spec.socket() != null) {
            // QMP system_powerdown (the ACPI power button; ctrl-alt-del does nothing on a guest without a keyboard),
            // then a bounded wait for qemu to exit, by microforge's own QMP client: it never reads standard input
            // (under systemd's ExecStop that is /dev/null: a client that waits on stdin returns at once and systemd
            // kills the VM)
            Shell.Script s = new Shell.Script();
            s.assign("socket", Generator.pathArg(spec.socket()));
            s.code(Runner.SHUTDOWN_CALL);
            shutdown = s.toString();
        }
        return new Plan(c, Map.of(), shutdown);
    }

    /** qemu's block driver for microvm.nix's imageType. */
    static String qemuFormat(String imageType) {
        return switch (imageType) {
            case "vhd" -> "vpc";
            default -> imageType;
        };
    }

    private static void add(List<Shell.Word> c, String... words) {
        for (String w : words) {
            c.add(lit(w));
        }
    }
}
