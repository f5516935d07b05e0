package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight's qemu-machine check (issue 14, item 5) catches a real failure: with {@code qemu.machine = "microvm"} the
 * runner generated for {@code --accel tcg} and started with --no-preflight runs qemu and the kernel, which finds no
 * timer it can calibrate and never reaches the initramfs within {@link #BOUND_SECONDS} s; the same spec without
 * qemu.machine, started at the same time on the same host, boots to the guest script and powers off. Started with its
 * preflight, the microvm-machine runner stops before qemu with the finding.
 */
@Tag("oracle")
class PreflightMicrovmMachineBootTest {
    static final int BOUND_SECONDS = 30;

    @TempDir
    Path tmp;

    @Test
    void microvmMachineHangsUnderTcgAndPreflightRefusesIt() throws Exception {
        Tools.require("qemu-system-x86_64");
        Kernel kernel = Kernel.require();
        byte[] initrd = RunnerBoot.initramfs(kernel, List.of(), "echo \"@@UPTIME $(cut -d ' ' -f 1 /proc/uptime)\"\n", true);
        Path microvm = Files.createDirectories(tmp.resolve("microvm"));
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Files.write(microvm.resolve("initrd.img"), initrd);
        Files.write(plain.resolve("initrd.img"), initrd);
        ObjectNode spec = RunnerBoot.JSON.createObjectNode();
        spec.put("name", "machine");
        spec.put("mem", 256);
        spec.put("kernel", kernel.vmlinuz().toString());
        spec.put("initrd", "initrd.img");
        spec.put("storeOnDisk", false);
        spec.putNull("socket");
        spec.putArray("kernelParams").add("rdinit=/init");
        Path plainRunner = RunnerBoot.generate(plain, spec.deepCopy());
        spec.putObject("qemu").put("machine", "microvm");
        Path microvmRunner = RunnerBoot.generate(microvm, spec);
        assertTrue(Files.readString(microvmRunner.resolve("bin/microvm-run")).contains(" -M microvm"));
        assertFalse(Files.readString(plainRunner.resolve("bin/microvm-run")).contains(" -M microvm"));

        RunnerBoot.Vm hung = RunnerBoot.start(List.of(), microvmRunner, microvm, "console.log", "--no-preflight");
        RunnerBoot.Vm ok = RunnerBoot.start(List.of(), plainRunner, plain, "console.log", "--no-preflight");
        ok.await(BOUND_SECONDS);
        double okSeconds = ok.seconds();
        hung.await(BOUND_SECONDS);
        String okConsole = ok.console();
        String hungConsole = hung.console();
        System.out.printf("without qemu.machine: guest done in %.1f s; microvm machine killed after %.1f s%n", okSeconds, hung.seconds());
        assertFalse(ok.killed, "the same spec without qemu.machine must boot within " + BOUND_SECONDS + " s:\n" + okConsole);
        assertEquals(0, ok.exitCode(), okConsole);
        assertTrue(okConsole.contains("@@DONE"), okConsole);
        assertTrue(hung.killed, "qemu with the microvm machine exited by itself:\n" + hungConsole);
        assertTrue(hungConsole.contains("Linux version"), "qemu started the kernel:\n" + hungConsole);
        assertFalse(hungConsole.contains("@@BOOTED"), "the guest must not reach its init under TCG:\n" + hungConsole);
        assertTrue(hungConsole.contains("tsc: Unable to calibrate against PIT"), hungConsole);

        RunnerBoot.Vm checked = RunnerBoot.start(List.of(), microvmRunner, microvm, "checked.log").await(120);
        String err = checked.console();
        assertFalse(checked.killed, err);
        assertEquals(1, checked.exitCode(), err);
        assertTrue(err.contains("preflight: error: qemu.machine microvm: hangs under --accel tcg (the guest finds no timer it can calibrate"
                + " and never boots); fix: remove qemu.machine"), err);
        assertTrue(err.contains("microvm-run: preflight failed"), err);
        assertFalse(err.contains("Linux version") || err.lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + err);
    }
}
