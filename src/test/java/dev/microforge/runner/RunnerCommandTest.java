package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** microforge runner through the CLI: output, atomic replacement, and one-line errors with nothing left behind. */
class RunnerCommandTest {
    @TempDir
    Path tmp;

    Path spec(String body) throws IOException {
        Path s = tmp.resolve("vm.json");
        Files.writeString(s, "{\"name\":\"demo\",\"kernel\":\"/k\",\"storeOnDisk\":false" + (body.isEmpty() ? "" : "," + body) + "}");
        return s;
    }

    List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("vm.json")).sorted().toList();
        }
    }

    @Test
    void writesRunnerAndReplacesItWhole() throws IOException {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("runner for demo (qemu) written to " + out + "\n", r.out());
        assertTrue(Files.isExecutable(out.resolve("bin/microvm-run")));
        assertTrue(Files.isExecutable(out.resolve("bin/microvm-shutdown")));
        Files.writeString(out.resolve("stale-file"), "x");
        r = Cli.run("runner", "--spec", spec("").toString(), "--hypervisor", "crosvm", "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertFalse(Files.exists(out.resolve("stale-file")), "an existing runner is replaced whole");
        assertEquals("crosvm\n", Files.readString(out.resolve("share/microvm/hypervisor")));
        assertEquals(List.of("out"), leftovers(), "no temporary directories left");
    }

    @Test
    void badSpecIsOneLineAndWritesNothing() throws IOException {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("runner", "--spec", spec("\"volumes\":[{\"image\":\"a.img\",\"size\":-1}]").toString(), "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + tmp.resolve("vm.json") + ": volumes[0].size: must be between 1 and 2147483647 MiB, got -1\n", r.err());
        assertEquals(List.of(), leftovers());
    }

    @Test
    void unsupportedFeatureIsOneLineAndWritesNothing() throws IOException {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("runner", "--spec", spec("\"shares\":[{\"proto\":\"9p\",\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\"}]").toString(),
                "--hypervisor", "firecracker", "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + tmp.resolve("vm.json") + ": shares[0].proto: firecracker does not support 9p shares; supported by: qemu, crosvm, kvmtool\n", r.err());
        assertEquals(List.of(), leftovers());
    }

    @Test
    void badOptionsAndFiles() throws IOException {
        Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "--hypervisor", "qemu-kvm", "-o", tmp.resolve("o").toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: --hypervisor: unknown hypervisor 'qemu-kvm' (did you mean 'qemu'?); expected one of qemu, cloud-hypervisor, firecracker, crosvm, kvmtool\n", r.err());
        r = Cli.run("runner", "--spec", tmp.resolve("missing.json").toString(), "-o", tmp.resolve("o").toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + tmp.resolve("missing.json") + ": no such file\n", r.err());
        r = Cli.run("runner", "--spec", spec("").toString(), "--accel", "hvf", "-o", tmp.resolve("o").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().startsWith("microforge: Invalid value for option '--accel'"), r.err());
        r = Cli.run("runner", "--spec", spec("").toString(), "-o", tmp.resolve("no/such/dir").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("parent directory") && r.err().contains("does not exist"), r.err());
        Files.writeString(tmp.resolve("afile"), "");
        r = Cli.run("runner", "--spec", spec("").toString(), "-o", tmp.resolve("afile").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("exists and is not a directory"), r.err());
    }

    @Test
    void ignoredMicrovmNixOptionsAreReported() throws IOException {
        Cli.Result r = Cli.run("runner", "--spec", spec("\"optimize\":{\"enable\":true},\"prettyProcnames\":true").toString(), "-o", tmp.resolve("o").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("", r.err(), "microvm.nix's defaults are accepted silently");
        r = Cli.run("runner", "--spec", spec("\"optimize\":{\"enable\":false},\"prettyProcnames\":false").toString(), "-o", tmp.resolve("o").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("microforge: warning: microvm.nix option not used by microforge: optimize (it tunes the guest's NixOS configuration"
                + " in microvm.nix's module (documentation, networkd, initrd), not the runner)\n"
                + "microforge: warning: microvm.nix option not used by microforge: prettyProcnames (it only sets the hypervisor's process name)\n", r.err());
    }
}
