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
 * microvm.nix's qemu.machineOpts (acpi, pcie, pic, pit, usb, written for the microvm machine) without the microvm
 * machine, as a spec has them after following the advice to drop qemu.machine under TCG: the runner gives them to q35,
 * where qemu refuses pcie and exits; the same options without pcie boot the Debian kernel (qemu TCG) to its init.
 * Preflight refuses pcie before qemu starts and lets the others pass.
 */
@Tag("oracle")
class PreflightMachineOptsBootTest {
    @TempDir
    Path tmp;

    ObjectNode spec(Kernel kernel, String name) {
        ObjectNode spec = RunnerBoot.JSON.createObjectNode();
        spec.put("name", name);
        spec.put("mem", 256);
        spec.put("kernel", kernel.vmlinuz().toString());
        spec.put("initrd", "initrd.img");
        spec.put("storeOnDisk", false);
        spec.putNull("socket");
        spec.putArray("kernelParams").add("rdinit=/init");
        return spec;
    }

    Path dir(String name, byte[] initrd) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.write(d.resolve("initrd.img"), initrd);
        return d;
    }

    @Test
    void microvmMachineOptsOnQ35FailAndPreflightRefusesThem() throws Exception {
        Tools.require("qemu-system-x86_64");
        Kernel kernel = Kernel.require();
        byte[] initrd = RunnerBoot.initramfs(kernel, List.of(), "", true);
        Path pcie = dir("pcie", initrd);
        Path rest = dir("rest", initrd);
        ObjectNode s = spec(kernel, "pcie");
        ((ObjectNode) s.putObject("qemu").putObject("machineOpts")).put("acpi", "on").put("pcie", "on").put("pic", "off").put("pit", "off")
                .put("usb", "off");
        Path pcieRunner = RunnerBoot.generate(pcie, s);
        s = spec(kernel, "rest");
        ((ObjectNode) s.putObject("qemu").putObject("machineOpts")).put("acpi", "on").put("pic", "off").put("pit", "off").put("usb", "off");
        Path restRunner = RunnerBoot.generate(rest, s);

        RunnerBoot.Vm restVm = RunnerBoot.start(List.of(), restRunner, rest, "console.log");
        RunnerBoot.Vm pcieVm = RunnerBoot.start(List.of(), pcieRunner, pcie, "console.log", "--no-preflight").await(60);
        restVm.await(90);
        String c = pcieVm.console();
        assertFalse(pcieVm.killed, c);
        assertTrue(pcieVm.exitCode() != 0 && c.matches("(?s).*qemu-system-x86_64: Property 'pc-q35-[0-9.]+-machine.pcie' not found.*"), c);
        c = restVm.console();
        System.out.printf("machineOpts without pcie, with preflight: guest done after %.1f s%n", restVm.seconds());
        assertFalse(restVm.killed, c);
        assertEquals(0, restVm.exitCode(), c);
        assertTrue(c.contains("preflight: rest (qemu): ok"), c);
        assertTrue(c.contains("@@DONE"), "the options without pcie boot:\n" + c);

        RunnerBoot.Vm checked = RunnerBoot.start(List.of(), pcieRunner, pcie, "checked.log").await(120);
        String err = checked.console();
        assertFalse(checked.killed, err);
        assertEquals(1, checked.exitCode(), err);
        assertTrue(err.contains("preflight: error: qemu.machineOpts.pcie: is an option of the microvm machine only: qemu refuses it on q35"
                + " (\"Property '...pcie' not found\"); fix: remove pcie from qemu.machineOpts"), err);
        assertFalse(err.contains("Linux version") || err.lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + err);
    }
}
