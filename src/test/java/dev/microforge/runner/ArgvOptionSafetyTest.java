package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spec values that look like options never reach a hypervisor as options: with kernel "--disable-sandbox", initrd,
 * store disk, volume, 9p source and control socket all starting with '-', the generated microvm-run (and
 * microvm-shutdown) run a fake hypervisor that records its argv; every word starting with '-' must be one of the
 * options of that hypervisor's documented CLI that microforge uses (lists below, from each project's CLI
 * reference), and the kernel must arrive as an argument naming the same file. The qemu shutdown (microforge's
 * own QMP client, run as {@code java -cp ... Main}) reaches a QMP stand-in listening on a socket whose name has every
 * character a shell, socat's address syntax or an option parser treats specially, a leading '-' included.
 */
@Tag("oracle")
class ArgvOptionSafetyTest {
    /** The options microforge may pass, per hypervisor (qemu-system-x86_64 7.2, cloud-hypervisor v36+, firecracker,
     *  crosvm run, lkvm run); spec values must never add to them. */
    static final Map<Hypervisor, Set<String>> OPTIONS = Map.of(
            Hypervisor.QEMU, Set.of("-name", "-M", "-accel", "-cpu", "-m", "-smp", "-nodefaults", "-no-user-config",
                    "-no-reboot", "-display", "-kernel", "-initrd", "-append", "-chardev", "-serial", "-device", "-object",
                    "-numa", "-drive", "-fsdev", "-netdev", "-mon", "-runas"),
            Hypervisor.CLOUD_HYPERVISOR, Set.of("--cpus", "--memory", "--kernel", "--initramfs", "--cmdline", "--console",
                    "--serial", "--watchdog", "--disk", "--fs", "--net", "--vsock", "--balloon", "--api-socket"),
            Hypervisor.FIRECRACKER, Set.of("--config-file", "--api-sock"),
            Hypervisor.CROSVM, Set.of("--cpus", "--mem", "--serial", "-p", "--no-balloon", "--block", "--vhost-user",
                    "--shared-dir", "--net", "--vsock", "--socket", "--initrd"),
            Hypervisor.KVMTOOL, Set.of("--name", "-m", "-c", "--console", "--rng", "-k", "-i", "-p", "-d", "--9p", "-n",
                    "--vsock", "--balloon"));

    static final Map<Hypervisor, String> BINARY = Map.of(Hypervisor.QEMU, "qemu-system-x86_64",
            Hypervisor.CLOUD_HYPERVISOR, "cloud-hypervisor", Hypervisor.FIRECRACKER, "firecracker",
            Hypervisor.CROSVM, "crosvm", Hypervisor.KVMTOOL, "lkvm");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(Hypervisor.class)
    void specValuesNeverBecomeOptions(Hypervisor h) throws Exception {
        Tools.require("bash");
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path bin = Files.createDirectories(tmp.resolve("fakebin"));
        Path fake = bin.resolve(BINARY.get(h));
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGV_OUT\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (String f : List.of("--disable-sandbox", "-initrd.img", "-store.img", "-vol.img")) {
            Files.write(work.resolve(f), new byte[1 << 20]);
        }
        Files.createDirectories(work.resolve("-src"));

        ObjectNode spec = new ObjectMapper().createObjectNode();
        spec.put("name", "argv");
        spec.put("hypervisor", h.id());
        spec.put("mem", 256);
        spec.put("kernel", "--disable-sandbox");
        spec.put("initrd", "-initrd.img");
        spec.putObject("storeDisk").put("image", "-store.img").put("type", "erofs");
        spec.put("storeOnDisk", true);
        ObjectNode vol = spec.putArray("volumes").addObject().put("image", "-vol.img").put("size", 1).putNull("mountPoint")
                .put("autoCreate", false);
        if (h != Hypervisor.FIRECRACKER && h != Hypervisor.KVMTOOL) {
            vol.put("serial", "vol");
        }
        if (h == Hypervisor.QEMU || h == Hypervisor.CROSVM || h == Hypervisor.KVMTOOL) {
            spec.putArray("shares").addObject().put("proto", "9p").put("tag", "s").put("source", "-src").put("mountPoint", "/s");
        }
        if (h != Hypervisor.KVMTOOL) {
            spec.put("socket", "--help.sock");
        }
        byte[] specBytes = new ObjectMapper().writeValueAsBytes(spec);
        VmSpec vm = VmSpecReader.parse(specBytes, "vm.json", Events.NONE);
        Accel accel = h == Hypervisor.QEMU ? Accel.TCG : Accel.KVM;
        Path runner = tmp.resolve("runner");
        Runner.write(Runner.generate(vm, specBytes, new Runner.Options(accel, List.of()), Events.NONE), runner);

        List<String> argv = run(runner.resolve("bin/microvm-run"), work, bin);
        checkOptions(h, argv);
        if (h != Hypervisor.FIRECRACKER) {
            assertTrue(argv.stream().anyMatch(a -> !a.startsWith("-") && sameFile(work, a, "--disable-sandbox")),
                    h + ": the kernel arrives as a file argument: " + argv);
        }
        if (h == Hypervisor.CROSVM) {
            // crosvm's microvm-shutdown runs microforge shutdown: ShutdownTest.crosvmThroughMicrovmShutdown
            assertTrue(sameFile(work, argv.get(argv.size() - 1), "--disable-sandbox"), "crosvm: the kernel is the last argument");
        }
    }

    static boolean sameFile(Path work, String arg, String name) {
        return work.resolve(arg).normalize().equals(work.resolve(name).normalize());
    }

    static void checkOptions(Hypervisor h, List<String> argv) {
        for (String a : argv) {
            if (a.startsWith("-")) {
                assertTrue(OPTIONS.get(h).contains(a), h + ": '" + a + "' reaches the hypervisor as an option: " + argv);
            }
        }
    }

    List<String> run(Path script, Path work, Path bin) throws Exception {
        Path argvOut = tmp.resolve("argv");
        Files.deleteIfExists(argvOut);
        ProcessBuilder pb = new ProcessBuilder(script.toString()).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("log").toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("ARGV_OUT", argvOut.toString());
        pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), script + " hangs");
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log")));
        String all = Files.readString(argvOut, StandardCharsets.UTF_8);
        List<String> argv = new ArrayList<>(List.of(all.split("\0", -1)));
        argv.remove(argv.size() - 1);
        return argv;
    }

    /** Characters shells, socat's address syntax and option parsers read specially; relative to stay short. */
    static final String NASTY = "-q,m:b!!x 'sq'\"dq\"\\bs(p)[b]{c}%$é";

    @Test
    void qemuShutdownWithHostileSocketName() throws Exception {
        Tools.require("bash");
        Path work = Files.createDirectories(tmp.resolve("w"));
        ObjectNode spec = new ObjectMapper().createObjectNode();
        spec.put("name", "qmp");
        spec.put("kernel", "/k");
        spec.put("storeOnDisk", false);
        spec.put("socket", NASTY + ".sock");
        byte[] specBytes = new ObjectMapper().writeValueAsBytes(spec);
        VmSpec vm = VmSpecReader.parse(specBytes, "vm.json", Events.NONE);
        Path runner = tmp.resolve("runner");
        List<String> microforge = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.microforge.cli.Main");
        Runner.write(Runner.generate(vm, specBytes, new Runner.Options(Accel.TCG, microforge), Events.NONE), runner);

        Path sock = work.resolve(NASTY + ".sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel c = server.accept()) {
                    c.write(ByteBuffer.wrap("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n".getBytes(StandardCharsets.UTF_8)));
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    InputStream in = java.nio.channels.Channels.newInputStream(c);
                    int b;
                    while ((b = in.read()) >= 0) {
                        got.write(b);
                        if (b == '\n') { // one command per line: answer it as qemu does
                            c.write(ByteBuffer.wrap("{\"return\": {}}\n".getBytes(StandardCharsets.UTF_8)));
                            if (got.toString(StandardCharsets.UTF_8).contains("system_powerdown")) {
                                break;
                            }
                        }
                    }
                    return got.toString(StandardCharsets.UTF_8); // closing = qemu exiting after the guest's power-off
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            ProcessBuilder pb = new ProcessBuilder(runner.resolve("bin/microvm-shutdown").toString()).directory(work.toFile())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("log").toFile());
            Process p = pb.start();
            String got = received.get(30, TimeUnit.SECONDS);
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "microvm-shutdown hangs");
            String log = Files.readString(tmp.resolve("log"));
            assertEquals(0, p.exitValue(), log);
            assertTrue(got.contains("qmp_capabilities") && got.contains("system_powerdown"), got + log);
        }
    }
}
