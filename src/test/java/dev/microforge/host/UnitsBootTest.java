package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.testkit.Initramfs;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real boot under the units: the Debian 6.1 cloud kernel with a busybox initramfs under qemu TCG, started by the
 * VM unit's ExecStartPre/ExecStart (as {@link UnitsSequenceTest} runs them: stdin /dev/null, systemd's environment)
 * with its virtiofs share served by the virtiofsd unit; the guest writes through the share, then the unit's ExecStop
 * (microvm-shutdown: QMP system_powerdown, the ACPI power button) reaches the guest's acpid (the kernel's button and
 * evdev modules, as in runner.QemuShutdownBootTest), whose handler has init unmount the share and power off, and
 * qemu (-no-reboot) exits by itself with status 0 before ExecStopPost and the virtiofsd unit's stop. A ctrl-alt-del
 * would reset the guest at once (the kernel's default), without the markers the test asserts.
 */
@Tag("oracle")
@Tag("root")
class UnitsBootTest {
    @TempDir
    Path tmp;

    static final String INIT_TAIL = """
            mkdir -p /mnt/v
            mount -t virtiofs vfs /mnt/v && echo "@@MOUNTED"
            echo written-by-guest > /mnt/v/from-guest.txt
            sync
            # the power button's handler signals init (USR1), which unmounts and powers off
            trap 'echo "@@SHUTDOWN"; umount /mnt/v && echo "@@UNMOUNTED"; sync; poweroff -f' USR1
            acpid -c /etc/acpi -l /dev/null
            echo "@@READY"
            while :; do sleep 0.2; done
            """;

    @Test
    void bootsAndStopsCleanlyUnderTheUnits() throws Exception {
        Tools.requireRoot("virtiofsd's chroot sandbox");
        Tools.require("qemu-system-x86_64");
        Tools.require("socat");
        Tools.require("/usr/lib/qemu/virtiofsd");
        Kernel k = Kernel.require();
        List<String> load = k.loadOrder(List.of("virtio_pci", "virtiofs", "button", "evdev"));
        Initramfs ir = new Initramfs();
        for (String d : List.of("bin", "dev", "proc", "sys", "mnt")) {
            ir.dir(d, 0755);
        }
        ir.charDevice("dev/console", 0600, 5, 1);
        ir.copy("bin/busybox", Tools.require("busybox"), 0755);
        ir.symlink("bin/sh", "busybox");
        // busybox acpid runs ./PWRF/00000080 (in its config directory) on the power button's key event
        ir.dir("etc", 0755).dir("etc/acpi", 0755).dir("etc/acpi/PWRF", 0755);
        ir.file("etc/acpi/PWRF/00000080", "#!/bin/sh\necho '@@POWERBUTTON' > /dev/console\nkill -USR1 1\n", 0755);
        StringBuilder init = new StringBuilder("#!/bin/busybox sh\n/bin/busybox --install -s /bin\nexport PATH=/bin\n"
                + "mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev\n");
        for (String m : load) {
            ir.file("lib/modules/" + m + ".ko", k.moduleBytes(m), 0644);
            init.append("insmod /lib/modules/").append(m).append(".ko\n");
        }
        init.append(INIT_TAIL);
        ir.file("init", init.toString(), 0755);
        Path initrd = ir.writeGzip(tmp.resolve("initrd.img"));
        Path share = Files.createDirectories(tmp.resolve("share dir"));

        ObjectNode spec = new ObjectMapper().createObjectNode();
        spec.put("name", "boot").put("hypervisor", "qemu").put("vcpu", 1).put("mem", 256)
                .put("kernel", k.qemuKernel().toString()).put("initrd", initrd.toString()).put("storeOnDisk", false);
        spec.putArray("shares").addObject().put("proto", "virtiofs").put("tag", "vfs").put("source", share.toString()).put("mountPoint", "/v");
        spec.put("socket", "boot.sock");
        byte[] bytes = new ObjectMapper().writeValueAsBytes(spec);
        VmSpec vm = VmSpecReader.parse(bytes, "vm.json", Events.NONE);
        Path runner = tmp.resolve("runner");
        Runner.write(Runner.generate(vm, bytes, new Runner.Options(Accel.TCG, List.of(dev.microforge.testkit.JarCli.launcherScript().toString())), Events.NONE), runner);
        Path state = Files.createDirectories(tmp.resolve("vms/boot"));
        Files.createSymbolicLink(state.resolve("current"), runner);
        Units.Options o = new Units.Options(state.resolve("current").toString(), state.toString(), "/sbin/ip",
                Units.DEFAULT_VIRTIOFSD, null, "/bin/sh", null);
        Map<String, byte[]> units = Units.generate(vm, bytes, Accel.TCG, o, Events.NONE);
        var vfsd = UnitsSequenceTest.UnitFile.parse(units.get(Units.virtiofsdUnit("boot", "vfs")));
        var vmu = UnitsSequenceTest.UnitFile.parse(units.get(Units.vmUnit("boot")));
        Path log = tmp.resolve("log");
        Files.writeString(log, "");
        Process virtiofsd = null;
        Process main = null;
        try {
            vfsd.runAll("ExecStartPre", log);
            virtiofsd = vfsd.start("ExecStart", log);
            vmu.runAll("ExecStartPre", log);
            main = vmu.start("ExecStart", log);
            Process m = main;
            UnitsSequenceTest.waitFor(() -> Files.readString(log).contains("@@READY") || !m.isAlive(), 300, "the guest to boot", log);
            assertTrue(main.isAlive(), "the VM runs:\n" + Files.readString(log));
            assertTrue(Files.readString(log).contains("@@MOUNTED"), "the guest mounted the virtiofs share:\n" + Files.readString(log));
            assertEquals("written-by-guest\n", Files.readString(share.resolve("from-guest.txt")));
            assertEquals(VmList.State.running, VmList.list(Path.of("/"), tmp.resolve("vms").toString()).get(0).state());

            vmu.runAll("ExecStop", log);
            assertTrue(main.waitFor(120, TimeUnit.SECONDS), "qemu did not exit after ExecStop\n" + Files.readString(log));
            assertEquals(0, main.exitValue(), Files.readString(log));
            assertTrue(Files.readString(log).contains("@@POWERBUTTON"), "the guest's acpid saw the ACPI power button:\n" + Files.readString(log));
            assertTrue(Files.readString(log).contains("@@SHUTDOWN"), "the guest's init got the shutdown request:\n" + Files.readString(log));
            assertTrue(Files.readString(log).contains("@@UNMOUNTED"), "the guest unmounted the share before it went down");
            vmu.runAll("ExecStopPost", log);
            assertFalse(Files.exists(state.resolve("booted"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
            UnitsSequenceTest.kill(virtiofsd);
            assertTrue(virtiofsd.waitFor(10, TimeUnit.SECONDS), "virtiofsd stops");
        } finally {
            for (Process p : new Process[] {main, virtiofsd}) {
                if (p != null && p.isAlive()) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
        }
    }
}
