package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The set-ups preflight refuses really break the VM: the generated runner is started with --no-preflight and the
 * real qemu (TCG) fails the way the finding says; started with its preflight (the launcher beside the jar, given as
 * runner --microforge), microvm-run stops before qemu with the finding and the way to skip it.
 */
@Tag("oracle")
class PreflightCatchesTest {
    @TempDir
    Path tmp;

    Path runner(String spec) throws Exception {
        return runner(spec, QemuBootTest.launcher());
    }

    /** {@code microforge}: the launcher the runner's preflight calls. */
    Path runner(String spec, String microforge) throws Exception {
        Path f = tmp.resolve("vm.json");
        Files.writeString(f, spec);
        Path out = tmp.resolve("runner");
        Cli.Result gen = Cli.run("runner", "--spec", f.toString(), "--accel", "tcg", "--microforge", microforge, "-o", out.toString());
        assertEquals(0, gen.exitCode(), gen.err());
        return out.resolve("bin/microvm-run");
    }

    Exec.Result start(List<String> prefix, Path run, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(run.toString());
        cmd.addAll(List.of(args));
        return Exec.run(cmd, tmp, null, 180);
    }

    static Path vmlinuz() throws Exception {
        try (var l = Files.list(Path.of("/boot"))) {
            Path k = l.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).sorted().findFirst().orElse(null);
            if (k == null) {
                throw new AssertionError("no /boot/vmlinuz-* (tests/install-deps.sh installs linux-image-amd64)");
            }
            return k;
        }
    }

    @Test
    void kernelGivenAsADirectory() throws Exception {
        Tools.require("qemu-system-x86_64");
        // generated where the path is not there yet (another machine, a store path not yet built): a kernel package
        // directory present at generation is resolved to its bzImage instead (Runner.kernelImage)
        Path pkg = tmp.resolve("linux-6.1");
        Path run = runner("{\"name\":\"kdir\",\"kernel\":\"" + pkg + "\",\"storeOnDisk\":false,\"socket\":null}");
        Files.createDirectories(pkg);
        Files.copy(vmlinuz(), pkg.resolve("bzImage"));

        Exec.Result bare = start(List.of(), run, "--no-preflight");
        assertNotEquals(0, bare.exitCode());
        assertTrue(bare.stderr().contains("could not load kernel '" + pkg + "': Is a directory"), bare.stderr());

        Exec.Result checked = start(List.of(), run);
        assertEquals(1, checked.exitCode(), checked.stderr());
        assertTrue(checked.stderr().contains("preflight: error: kernel " + pkg + ": is a directory (a kernel package?), not a kernel image: qemu"
                + " fails to start (\"could not load kernel ...: Is a directory\"); fix: set kernel to " + pkg + "/bzImage"), checked.stderr());
        assertTrue(checked.stderr().contains("preflight: kdir (qemu): 1 problem: fix it, or start without preflight: microvm-run --no-preflight"),
                checked.stderr());
        assertFalse(checked.stderr().lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + checked.stderr());
    }

    @Test
    @Tag("root")
    void tapWithoutMultiQueueForTwoVcpus() throws Exception {
        PreflightHostTest.requireRoot();
        Tools.require("qemu-system-x86_64");
        Tools.require("ip");
        String ns = "mfpc" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "vm-tap0", "mode", "tap");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "set", "vm-tap0", "up");
            Path run = runner("{\"name\":\"mq\",\"kernel\":\"" + vmlinuz() + "\",\"vcpu\":2,\"storeOnDisk\":false,\"socket\":null,"
                    + "\"kernelParams\":[\"panic=-1\"],\"interfaces\":[{\"type\":\"tap\",\"id\":\"vm-tap0\"}]}");
            List<String> in = List.of("ip", "netns", "exec", ns);

            Exec.Result bare = start(in, run, "--no-preflight");
            assertNotEquals(0, bare.exitCode());
            assertTrue(bare.stderr().contains("could not configure /dev/net/tun (vm-tap0): Invalid argument"), bare.stderr());

            Exec.Result checked = start(in, run);
            assertEquals(1, checked.exitCode(), checked.stderr());
            assertTrue(checked.stderr().contains("preflight: error: interfaces[0] tap vm-tap0: was created without multi_queue but qemu opens"
                    + " it with queues=2 (vcpu 2)"), checked.stderr());
            assertFalse(checked.stderr().lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + checked.stderr());
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    @Test
    @Tag("root")
    void rootOwnedTapForAnotherUser() throws Exception {
        PreflightHostTest.requireRoot();
        Tools.require("qemu-system-x86_64");
        Tools.require("ip");
        Tools.require("setpriv");
        String ns = "mfpo" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "vm-tap1", "mode", "tap", "user", "0");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "set", "vm-tap1", "up");
            Path run = runner("{\"name\":\"owner\",\"kernel\":\"" + vmlinuz() + "\",\"storeOnDisk\":false,\"socket\":null,"
                    + "\"kernelParams\":[\"panic=-1\"],\"interfaces\":[{\"type\":\"tap\",\"id\":\"vm-tap1\"}]}",
                    dev.microforge.testkit.JarCli.portableLauncher(Files.createDirectories(tmp.resolve("launcher"))).toString());
            Exec.ok("chmod", "-R", "a+rX", tmp.toString());
            List<String> asNobody = List.of("ip", "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
            Exec.Result bare = start(asNobody, run, "--no-preflight");
            assertNotEquals(0, bare.exitCode());
            assertTrue(bare.stderr().contains("could not configure /dev/net/tun (vm-tap1): Operation not permitted"), bare.stderr());
            Exec.Result checked = start(asNobody, run);
            assertEquals(1, checked.exitCode(), checked.stderr());
            assertTrue(checked.stderr().contains("preflight: error: interfaces[0] tap vm-tap1: belongs to uid 0, not to nobody (uid 65534)"),
                    checked.stderr());
            assertFalse(checked.stderr().lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + checked.stderr());
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    @Test
    void runnerWarnsAboutTheMicrovmMachineUnderTcg() throws Exception {
        Path f = tmp.resolve("vm.json");
        Files.writeString(f, "{\"name\":\"m\",\"kernel\":\"/k\",\"storeOnDisk\":false,\"qemu\":{\"machine\":\"microvm\"}}");
        Cli.Result r = Cli.run("runner", "--spec", f.toString(), "--accel", "tcg", "-o", tmp.resolve("r").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("microforge: warning: qemu.machine microvm hangs under TCG"), r.err());
        for (String accel : List.of("kvm", "auto")) { // auto: the preflight decides at start, where KVM is known
            r = Cli.run("runner", "--spec", f.toString(), "--accel", accel, "-o", tmp.resolve("r").toString());
            assertFalse(r.err().contains("microvm hangs"), r.err());
        }
    }
}
