package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Initramfs;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real qemu TCG boot of a generated runner, then its microvm-shutdown run as systemd's ExecStop runs it (standard
 * input /dev/null): the guest gets the ACPI power button (busybox acpid, the kernel's button and evdev modules), says
 * so on the console and powers off; qemu exits by itself, and microvm-shutdown returns only after that. The same boot
 * proves credentialFiles: the guest reads its credential from qemu's fw_cfg
 * (/sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials/NAME/raw) and reports the SHA-256, which must be the
 * host file's. The work directory has a space and a quote in its name.
 */
@Tag("oracle")
class QemuShutdownBootTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int BOOT_SECONDS = Integer.getInteger("microforge.boot.timeout", 120);
    static final int SHUTDOWN_SECONDS = 60;

    @TempDir
    Path tmp;

    @Test
    void powerButtonShutsTheGuestDownAndCredentialsArrive() throws Exception {
        Tools.require("qemu-system-x86_64");
        Kernel kernel = Kernel.requireWith("button", "evdev", "qemu_fw_cfg");
        Path work = Files.createDirectories(tmp.resolve("vm dir 'p'"));
        Files.write(work.resolve("initrd.img"), initramfs(kernel));
        byte[] secret = ("credential-" + System.nanoTime() + "\nsecond line, with a comma\n").getBytes(StandardCharsets.UTF_8);
        Path cred = work.resolve("secret, one.txt");
        Files.write(cred, secret);
        String want = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret));

        ObjectNode spec = JSON.createObjectNode();
        spec.put("name", "pwrtest");
        spec.put("mem", 256);
        spec.put("kernel", kernel.vmlinuz().toString());
        spec.put("initrd", "initrd.img");
        spec.put("storeOnDisk", false);
        spec.putArray("kernelParams").add("rdinit=/init");
        spec.putObject("credentialFiles").put("GREETING", cred.toString());
        Path specFile = work.resolve("vm.json");
        Files.writeString(specFile, JSON.writeValueAsString(spec));
        Path runner = work.resolve("runner");
        Cli.Result gen = Cli.run("runner", "--spec", specFile.toString(), "--accel", "tcg", "--microforge", QemuBootTest.launcher(),
                "-o", runner.toString());
        assertEquals(0, gen.exitCode(), gen.err());

        Path log = work.resolve("console.log");
        Process vm = new ProcessBuilder(runner.resolve("bin/microvm-run").toString(), "--no-preflight")
                .directory(work.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOOT_SECONDS);
            while (!console(log).contains("@@READY") && vm.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(console(log).contains("@@READY"), "the guest did not come up:\n" + console(log));
            assertTrue(console(log).contains("@@CRED GREETING " + want), "credential hash, want " + want + ":\n" + console(log));

            Path shutdownLog = work.resolve("shutdown.log");
            ProcessBuilder sb = new ProcessBuilder(runner.resolve("bin/microvm-shutdown").toString()).directory(work.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(shutdownLog.toFile());
            sb.environment().put("MICROVM_SHUTDOWN_TIMEOUT", Integer.toString(SHUTDOWN_SECONDS));
            long t0 = System.nanoTime();
            Process sd = sb.start();
            boolean sdDone = sd.waitFor(SHUTDOWN_SECONDS + 30, TimeUnit.SECONDS);
            boolean vmAliveWhenShutdownReturned = vm.isAlive();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("microvm-shutdown: %.1f s%n", secs);
            String sdOut = Files.readString(shutdownLog);
            assertTrue(sdDone, "microvm-shutdown did not return:\n" + sdOut);
            assertEquals(0, sd.exitValue(), "microvm-shutdown failed:\n" + sdOut + "\nconsole:\n" + console(log));
            assertFalse(vmAliveWhenShutdownReturned && !vm.waitFor(2, TimeUnit.SECONDS),
                    "microvm-shutdown returned while qemu still ran (it must wait for the exit):\n" + sdOut);
            assertTrue(vm.waitFor(10, TimeUnit.SECONDS), "qemu did not exit");
            assertEquals(0, vm.exitValue(), "microvm-run:\n" + console(log));
            assertTrue(console(log).contains("@@POWERBUTTON"), "the guest saw the ACPI power button (not a kill):\n" + console(log));
            assertTrue(sdOut.contains("qemu exited"), sdOut);
        } finally {
            if (vm.isAlive()) {
                vm.descendants().forEach(ProcessHandle::destroyForcibly);
                vm.destroyForcibly();
            }
        }
    }

    static String console(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.ISO_8859_1);
    }

    /** busybox, the ACPI button, evdev and fw_cfg modules, and an init that waits for the power button. */
    static byte[] initramfs(Kernel k) throws IOException {
        List<String> load = k.loadOrder(List.of("evdev", "button", "qemu_fw_cfg"));
        Initramfs ir = new Initramfs();
        for (String d : List.of("bin", "dev", "proc", "sys", "tmp", "etc/acpi/PWRF")) {
            ir.dir(d, 0755);
        }
        ir.charDevice("dev/console", 0600, 5, 1);
        ir.copy("bin/busybox", Tools.require("busybox"), 0755);
        ir.symlink("bin/sh", "busybox");
        for (String m : load) {
            ir.file("lib/modules/" + m + ".ko", k.moduleBytes(m), 0644);
        }
        // busybox acpid runs ./PWRF/00000080 (in its config directory) on the power button's key event
        ir.file("etc/acpi/PWRF/00000080", "#!/bin/sh\necho @@POWERBUTTON > /dev/console\nsync\npoweroff -f\n", 0755);
        StringBuilder s = new StringBuilder();
        s.append("#!/bin/busybox sh\n/bin/busybox --install -s /bin\nexport PATH=/bin\n");
        s.append("mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev\n");
        for (String m : load) {
            s.append("insmod /lib/modules/").append(m).append(".ko\n");
        }
        s.append("""
                f=/sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials/GREETING/raw
                echo "@@CRED GREETING $(sha256sum < $f | cut -d ' ' -f 1)"
                i=0; while ! ls /dev/input/event* >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
                echo "@@INPUT $(cat /sys/class/input/*/name 2>/dev/null | tr '\\n' ',')"
                acpid -f -c /etc/acpi -l /tmp/acpid.log &
                sleep 1
                echo "@@READY"
                while true; do sleep 1; done
                """);
        ir.file("init", s.toString(), 0755);
        return ir.gzip();
    }
}
