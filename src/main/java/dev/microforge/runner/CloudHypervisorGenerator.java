package dev.microforge.runner;

import static dev.microforge.runner.Shell.lit;
import static dev.microforge.runner.Shell.var;

import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * cloud-hypervisor (clap syntax of v36 and later: one {@code --disk}/{@code --fs}/{@code --net} followed by all its
 * values). The kernel must be one cloud-hypervisor can boot (on x86_64 the uncompressed vmlinux with a PVH note).
 * io_uring is used by cloud-hypervisor itself when the host supports it. Clean shutdown: the API's power button
 * ({@code microforge shutdown}, which then waits for cloud-hypervisor to exit).
 */
final class CloudHypervisorGenerator implements Generator {
    @Override
    public Plan plan(VmSpec spec, Accel accel) {
        List<Shell.Word> c = new ArrayList<>();
        String hv = "cloud-hypervisor";
        c.add(lit(hv));
        add(c, "--cpus", "boot=" + spec.vcpu());
        boolean virtiofs = spec.shares().stream().anyMatch(s -> s.proto() == Share.Proto.VIRTIOFS);
        add(c, "--memory", "size=" + spec.mem() + "M,mergeable=on,shared=" + (virtiofs ? "on" : "off")
                + (spec.hugepageMem() ? ",hugepages=on" : ""));
        add(c, "--kernel", Generator.pathArg(spec.kernel()));
        if (spec.initrd() != null) {
            add(c, "--initramfs", Generator.pathArg(spec.initrd()));
        }
        add(c, "--cmdline", Generator.cmdline(List.of("console=ttyS0", "reboot=k", "panic=1"), spec));
        add(c, "--console", "off", "--serial", "tty", "--watchdog");
        String mq = spec.vcpu() > 1 ? "num_queues=" + spec.vcpu() : null;
        List<Shell.Word> disks = new ArrayList<>();
        if (spec.storeDisk() != null) {
            QemuOpt d = QemuOpt.plain(hv).kv("path", spec.storeDisk().image(), "storeDisk.image").fixed("readonly=on")
                    .kv("serial", spec.storeDisk().serial(), "storeDisk.serial");
            if (mq != null) {
                d.fixed(mq);
            }
            disks.add(d.word());
        }
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            QemuOpt d = QemuOpt.plain(hv).kv("path", v.image(), "volumes[" + i + "].image")
                    .fixed("readonly=" + (v.readOnly() ? "on" : "off")).fixed("direct=" + (v.direct() ? "on" : "off"))
                    .kv("serial", v.serial(), "volumes[" + i + "].serial");
            if (!v.imageType().equals("raw")) {
                d.fixed("image_type=" + v.imageType());
            }
            if (mq != null) {
                d.fixed(mq);
            }
            disks.add(d.word());
        }
        if (!disks.isEmpty()) {
            c.add(lit("--disk"));
            c.addAll(disks);
        }
        List<Shell.Word> fs = new ArrayList<>();
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            fs.add(QemuOpt.plain(hv).kv("tag", s.tag(), "shares[" + i + "].tag").kv("socket", s.socket(), "shares[" + i + "].socket").word());
        }
        if (!fs.isEmpty()) {
            c.add(lit("--fs"));
            c.addAll(fs);
        }
        List<Shell.Word> nets = new ArrayList<>();
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            QemuOpt o = QemuOpt.plain(hv);
            if (n.type() == NetInterface.Type.TAP) {
                o.kv("tap", n.id(), "interfaces[" + i + "].id");
                if (spec.vcpu() > 1) {
                    o.fixed("num_queues=" + 2 * spec.vcpu());
                }
            } else {
                o.bracketVar("fd", var("macvtap_fd_" + i));
            }
            o.fixed("mac=" + n.mac());
            nets.add(o.word());
        }
        if (!nets.isEmpty()) {
            c.add(lit("--net"));
            c.addAll(nets);
        }
        if (spec.vsockCid() != null) {
            c.add(lit("--vsock"));
            c.add(QemuOpt.plain(hv).fixed("cid=" + spec.vsockCid()).kv("socket", Runner.vsockSocket(spec), "vsock").word());
        }
        if (spec.balloon()) {
            add(c, "--balloon", "size=0,deflate_on_oom=" + (spec.deflateOnOOM() ? "on" : "off") + ",free_page_reporting=on");
        }
        if (!spec.hv().chPlatformOEMStrings().isEmpty()) {
            add(c, "--platform", "oem_strings=[" + String.join(",", spec.hv().chPlatformOEMStrings()) + "]");
        }
        if (spec.socket() != null) {
            c.add(lit("--api-socket"));
            c.add(QemuOpt.plain(hv).kv("path", spec.socket(), "socket").word());
        }
        for (String a : spec.extraArgsFor(Hypervisor.CLOUD_HYPERVISOR)) {
            c.add(lit(a));
        }
        String shutdown = null;
        if (spec.socket() != null) {
            Shell.Script s = new Shell.Script();
            s.assign("socket", Generator.pathArg(spec.socket()));
            s.code(Runner.SHUTDOWN_CALL);
            shutdown = s.toString();
        }
        return new Plan(c, Map.of(), shutdown);
    }

    private static void add(List<Shell.Word> c, String... words) {
        for (String w : words) {
            c.add(lit(w));
        }
    }
}
