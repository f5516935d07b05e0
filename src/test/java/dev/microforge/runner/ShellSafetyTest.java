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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Paths and values with spaces, quotes, $(), backticks, ${}, backslashes, newlines, commas and globs produce runners
 * that pass exactly those bytes: the generated microvm-run runs a fake hypervisor that records its argv (NUL
 * separated), which must equal the command the generator meant, byte for byte; nothing in the values is executed.
 * The qemu case also starts the real virtiofsd on a share with such a name (and checks it is stopped afterwards).
 */
@Tag("oracle")
class ShellSafetyTest {
    static final String NASTY = " sp 'sq' \"dq\" $(touch pwned1) `touch pwned2` ${HOME} $HOME \\bs\nnl,comma;semi&amp|pipe*glob?[x] ~";
    static final String NASTY_NO_OPTION_CHARS = NASTY.replace(",", "").replace("\"", "").replace("[", "").replace("]", "");

    @TempDir
    Path tmp;

    @Test
    void qemuRunnerPassesExactBytes() throws Exception {
        Tools.require("bash");
        Path vfsd = Tools.require("/usr/lib/qemu/virtiofsd");
        run(Hypervisor.QEMU, "qemu-system-x86_64", NASTY, vfsd);
    }

    @Test
    void cloudHypervisorRunnerPassesExactBytes() throws Exception {
        Tools.require("bash");
        run(Hypervisor.CLOUD_HYPERVISOR, "cloud-hypervisor", NASTY_NO_OPTION_CHARS, null);
    }

    void run(Hypervisor h, String binary, String nasty, Path virtiofsd) throws Exception {
        Path work = Files.createDirectories(tmp.resolve("w" + nasty.replace("\n", "\n")));
        Path bin = Files.createDirectories(tmp.resolve("fakebin"));
        Path fake = bin.resolve(binary);
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGV_OUT\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path vol = work.resolve("vol" + nasty + ".img");
        Files.write(vol, new byte[1 << 20]);
        Path share = Files.createDirectories(work.resolve("share" + nasty));

        ObjectNode spec = new ObjectMapper().createObjectNode();
        spec.put("name", "nasty");
        spec.put("hypervisor", h.id());
        spec.put("mem", 256);
        spec.put("kernel", "kernel" + nasty);
        spec.put("initrd", work.resolve("initrd" + nasty).toString());
        spec.putArray("kernelParams").add("p=" + nasty.replace("\n", "")).add("x");
        spec.put("storeOnDisk", false);
        spec.putArray("volumes").addObject().put("image", vol.getFileName().toString()).put("size", 1).putNull("mountPoint")
                .put("autoCreate", false).put("serial", "vol");
        var shares = spec.putArray("shares");
        if (virtiofsd != null) {
            shares.addObject().put("proto", "virtiofs").put("tag", "vfs").put("source", share.toString()).put("mountPoint", "/v")
                    .put("socket", "vfs" + nasty.replace("\n", "") + ".sock");
            shares.addObject().put("proto", "9p").put("tag", "p9").put("source", "share" + nasty).put("mountPoint", "/p");
            spec.putObject("virtiofsd").put("path", virtiofsd.toString());
            spec.putObject("credentialFiles").put("CRED", "cred" + nasty);
        } else {
            spec.putArray("interfaces").addObject().put("type", "tap").put("id", "tap0");
        }
        spec.put("socket", "api" + nasty + ".sock");
        byte[] specBytes = new ObjectMapper().writeValueAsBytes(spec);
        VmSpec vm = VmSpecReader.parse(specBytes, "vm.json", Events.NONE);
        Map<String, byte[]> files = Runner.generate(vm, specBytes, new Runner.Options(Accel.TCG == null ? null : h == Hypervisor.QEMU ? Accel.TCG : Accel.KVM, List.of()), Events.NONE);
        Path runner = work.resolve("runner");
        Runner.write(files, runner);

        Path argvOut = tmp.resolve("argv");
        ProcessBuilder pb = new ProcessBuilder(runner.resolve("bin/microvm-run").toString()).directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("log").toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("ARGV_OUT", argvOut.toString());
        pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "runner hangs");
        String log = Files.readString(tmp.resolve("log"));
        assertEquals(0, p.exitValue(), log);

        List<String> expected = new ArrayList<>();
        for (Shell.Word w : Generator.of(h).plan(vm, h == Hypervisor.QEMU ? Accel.TCG : Accel.KVM).command()) {
            StringBuilder sb = new StringBuilder();
            for (Shell.Part part : w.parts()) {
                if (part instanceof Shell.Lit l) {
                    sb.append(l.text());
                } else {
                    String name = ((Shell.Var) part).name();
                    sb.append(switch (name) {
                        case "aio" -> ioUringDisabled() ? "threads" : "io_uring";
                        case "share" -> runner.resolve("share/microvm").toString();
                        default -> throw new AssertionError(name);
                    });
                }
            }
            expected.add(sb.toString());
        }
        ByteArrayOutputStream exp = new ByteArrayOutputStream();
        for (String a : expected.subList(1, expected.size())) {
            exp.write(a.getBytes(StandardCharsets.UTF_8));
            exp.write(0);
        }
        byte[] got = Files.readAllBytes(argvOut);
        assertEquals(new String(exp.toByteArray(), StandardCharsets.UTF_8), new String(got, StandardCharsets.UTF_8));
        assertTrue(java.util.Arrays.equals(exp.toByteArray(), got), "byte-exact argv");
        assertTrue(new String(got, StandardCharsets.UTF_8).contains(nasty.replace("\n", "")), "the nasty value arrives");
        try (Stream<Path> s = Files.walk(tmp)) {
            assertTrue(s.noneMatch(x -> x.getFileName().toString().startsWith("pwned")), "nothing in a value was executed");
        }
        if (virtiofsd != null) {
            assertTrue(log.contains("Waiting for vhost-user socket connection"), "virtiofsd started on the nasty source:\n" + log);
            assertTrue(p.descendants().noneMatch(ProcessHandle::isAlive), "virtiofsd stopped with the VM");
        }
    }

    static boolean ioUringDisabled() {
        try {
            return !Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim().equals("0");
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
