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
 * kvmtool ({@code lkvm run}). At most 4 disks, 9p shares only, no disk serials (the guest sees the disks in spec
 * order), no clean shutdown ({@code lkvm stop} is not graceful, so there is no microvm-shutdown). kvmtool keeps state
 * under $HOME/.lkvm: HOME is set to the working directory, as microvm.nix does.
 */
final class KvmtoolGenerator implements Generator {
    @Override
    public Plan plan(VmSpec spec, Accel accel) {
        String hv = "kvmtool";
        List<Shell.Word> c = new ArrayList<>();
        c.add(lit("env"));
        c.add(Shell.word("HOME=", var("PWD")));
        add(c, "lkvm", "run", "--name", spec.name(), "-m", Integer.toString(spec.mem()), "-c", Integer.toString(spec.vcpu()),
                "--console", "serial", "--rng", "-k", Generator.pathArg(spec.kernel()));
        if (spec.initrd() != null) {
            add(c, "-i", Generator.pathArg(spec.initrd()));
        }
        add(c, "-p", Generator.cmdline(List.of("console=ttyS0", "reboot=k", "panic=1"), spec));
        if (spec.storeDisk() != null) {
            c.add(lit("-d"));
            c.add(Shell.lit(QemuOpt.plain(hv).escape(Generator.pathArg(spec.storeDisk().image()), "storeDisk.image") + ",ro"));
        }
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            String d = QemuOpt.plain(hv).escape(Generator.pathArg(v.image()), "volumes[" + i + "].image");
            if (v.direct()) {
                d += ",direct";
            }
            if (v.readOnly()) {
                d += ",ro";
            }
            c.add(lit("-d"));
            c.add(lit(d));
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            c.add(lit("--9p"));
            c.add(lit(QemuOpt.plain(hv).escape(Generator.pathArg(s.source()), "shares[" + i + "].source") + "," + s.tag()));
        }
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            c.add(lit("-n"));
            switch (n.type()) {
                case USER -> c.add(lit("mode=user,guest_mac=" + n.mac()));
                case TAP -> c.add(lit("mode=tap,tapif=" + n.id() + ",guest_mac=" + n.mac()));
                default -> c.add(Shell.word("mode=tap,tapif=", var("macvtap_dev_" + i), ",guest_mac=" + n.mac()));
            }
        }
        if (spec.vsockCid() != null) {
            add(c, "--vsock", Long.toString(spec.vsockCid()));
        }
        if (spec.balloon()) {
            add(c, "--balloon");
        }
        for (String a : spec.extraArgsFor(Hypervisor.KVMTOOL)) {
            c.add(lit(a));
        }
        return new Plan(c, Map.of(), null);
    }

    private static void add(List<Shell.Word> c, String... words) {
        for (String w : words) {
            c.add(lit(w));
        }
    }
}
