package dev.microforge.runner;

import static dev.microforge.runner.Shell.lit;
import static dev.microforge.runner.Shell.var;

import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * crosvm run (key=value option syntax of crosvm's documented CLI). Disk serials via {@code id=}; 9p via
 * {@code --shared-dir SRC:TAG:type=p9}, virtiofs via {@code --vhost-user type=fs,socket=...} served by virtiofsd.
 * Clean shutdown: {@code microforge shutdown}, which runs {@code crosvm powerbtn SOCKET} and waits for crosvm to exit.
 */
final class CrosvmGenerator implements Generator {
    @Override
    public Plan plan(VmSpec spec, Accel accel) {
        String hv = "crosvm";
        List<Shell.Word> c = new ArrayList<>();
        add(c, "crosvm", "run");
        add(c, "--cpus", "num-cores=" + spec.vcpu(), "--mem", "size=" + spec.mem());
        add(c, "--serial", "type=stdout,hardware=serial,num=1,console=true,stdin=true");
        add(c, "-p", Generator.cmdline(List.of("console=ttyS0", "reboot=k", "panic=1"), spec));
        if (!spec.balloon()) {
            add(c, "--no-balloon");
        }
        if (spec.storeDisk() != null) {
            c.add(lit("--block"));
            c.add(QemuOpt.plain(hv).kv("path", spec.storeDisk().image(), "storeDisk.image").fixed("ro=true")
                    .kv("id", spec.storeDisk().serial(), "storeDisk.serial").word());
        }
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            c.add(lit("--block"));
            c.add(QemuOpt.plain(hv).kv("path", v.image(), "volumes[" + i + "].image").fixed("ro=" + v.readOnly())
                    .fixed("direct=" + v.direct()).kv("id", v.serial(), "volumes[" + i + "].serial").word());
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            String f = "shares[" + i + "]";
            if (s.proto() == Share.Proto.VIRTIOFS) {
                c.add(lit("--vhost-user"));
                c.add(QemuOpt.plain(hv).fixed("type=fs").kv("socket", s.socket(), f + ".socket").word());
            } else {
                for (String x : List.of(s.source(), s.tag())) {
                    if (x.indexOf(':') >= 0) {
                        throw new UserError(f + ": '" + x + "' contains ':', which crosvm's --shared-dir syntax cannot carry");
                    }
                }
                QemuOpt.plain(hv).escape(s.source(), f + ".source");
                c.add(lit("--shared-dir"));
                c.add(lit(Generator.pathArg(s.source()) + ":" + s.tag() + ":type=p9"));
            }
        }
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            QemuOpt o = QemuOpt.plain(hv);
            if (n.type() == NetInterface.Type.TAP) {
                o.kv("tap-name", n.id(), "interfaces[" + i + "].id");
            } else {
                o.kvVar("tap-fd", var("macvtap_fd_" + i));
            }
            o.fixed("mac=" + n.mac());
            c.add(lit("--net"));
            c.add(o.word());
        }
        if (spec.vsockCid() != null) {
            add(c, "--vsock", "cid=" + spec.vsockCid());
        }
        if (spec.socket() != null) {
            add(c, "--socket", Generator.pathArg(spec.socket()));
        }
        if (spec.initrd() != null) {
            add(c, "--initrd", Generator.pathArg(spec.initrd()));
        }
        if (spec.hv().crosvmPivotRoot() != null) {
            add(c, "--pivot-root", spec.hv().crosvmPivotRoot());
        }
        for (String a : spec.extraArgsFor(Hypervisor.CROSVM)) {
            c.add(lit(a));
        }
        c.add(lit(Generator.pathArg(spec.kernel())));
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
