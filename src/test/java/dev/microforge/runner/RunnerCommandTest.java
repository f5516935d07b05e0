package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        Files.writeString(out.resolve("bin/microvm-run"), "edited");
        r = Cli.run("runner", "--spec", spec("").toString(), "--hypervisor", "crosvm", "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.readString(out.resolve("bin/microvm-run")).contains("crosvm"), "an existing runner is replaced whole");
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
        assertEquals("microforge: " + tmp.resolve("afile") + ": exists and is not a runner directory written by microforge"
                + " (refusing to replace it)\n", r.err());
    }

    /** A directory microforge did not write, or its runner with a user's file added, is never replaced. */
    @Test
    void refusesDirectoriesItDidNotWrite() throws IOException {
        Path vmdir = Files.createDirectories(tmp.resolve("vmdir"));
        Files.writeString(vmdir.resolve("home.img"), "user data");
        Files.writeString(vmdir.resolve("store.erofs"), "store");
        Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "-o", vmdir.toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + vmdir + ": exists and is not a runner directory written by microforge (refusing to replace it)\n", r.err());
        try (Stream<Path> s = Files.list(vmdir)) {
            assertEquals(List.of("home.img", "store.erofs"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals("user data", Files.readString(vmdir.resolve("home.img")));

        Path out = tmp.resolve("out");
        assertEquals(0, Cli.run("runner", "--spec", spec("").toString(), "-o", out.toString()).exitCode());
        Files.writeString(out.resolve("home.img"), "created by microvm-run in its working directory");
        r = Cli.run("runner", "--spec", spec("").toString(), "--hypervisor", "crosvm", "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + out + ": holds home.img, which microforge did not write (refusing to replace the runner"
                + " directory; move it away or choose another -o)\n", r.err());
        assertEquals("qemu\n", Files.readString(out.resolve("share/microvm/hypervisor")), "the old runner is untouched");
        assertTrue(Files.exists(out.resolve("home.img")));

        Files.delete(out.resolve("home.img"));
        Files.createSymbolicLink(out.resolve("share/microvm/virtiofs"), tmp);
        r = Cli.run("runner", "--spec", spec("").toString(), "-o", out.toString());
        assertEquals(2, r.exitCode(), "a symlink inside is not microforge's either");
        assertTrue(r.err().contains("holds share/microvm/virtiofs, which microforge did not write"), r.err());
        assertEquals(List.of("out", "vmdir"), leftovers());
    }

    /** A share tag is a file name under the runner: '/', '.', '..' and a leading '-' are spec errors. */
    @Test
    void shareTagCannotEscapeTheRunner() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("deep/a/b")).resolve("out");
        for (String tag : List.of("../../../../../../../../../../../x", "a/b", "..", ".", "-x")) {
            Cli.Result r = Cli.run("runner", "--spec", spec("\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"" + tag
                    + "\",\"source\":\"/srv\",\"mountPoint\":\"/m\"}]").toString(), "-o", out.toString());
            assertEquals(2, r.exitCode(), tag);
            assertEquals("microforge: " + tmp.resolve("vm.json") + ": shares[0].tag: tag must be a plain name (no '/', not '.'"
                    + " or '..', not starting with '-'), got '" + tag + "'\n", r.err());
        }
        assertEquals(List.of("deep"), leftovers(), "nothing written anywhere");
        try (Stream<Path> s = Files.walk(tmp.resolve("deep"))) {
            assertEquals(3, s.count(), "nothing written under deep/ either");
        }
    }

    /** The writer itself refuses a file name that would leave the directory, and writes nothing then. */
    @Test
    void writerKeepsEveryFileInside() throws IOException {
        Path out = tmp.resolve("out");
        for (String name : List.of("../escaped", "share/../../escaped", "/tmp/escaped", "bin//x", "./x", "")) {
            java.util.Map<String, byte[]> files = new java.util.TreeMap<>(java.util.Map.of("bin/microvm-run", new byte[0]));
            files.put(name, new byte[] {1});
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> Runner.write(files, out), name);
            assertTrue(e.getMessage().contains("escapes the runner directory"), e.getMessage());
            assertEquals(List.of(), leftovers(), name);
        }
        assertTrue(Files.notExists(Path.of("/tmp/escaped")));
    }

    /** A directory where the spec file is expected: one line naming it, exit 2 (was "I/O error: Is a directory"). */
    @Test
    void directoryAsSpec() {
        Cli.Result r = Cli.run("runner", "--spec", tmp.toString(), "-o", tmp.resolve("o").toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + tmp + ": not a regular file (a directory)\n", r.err());
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

    /**
     * --microforge is the command microvm-run runs for the preflight and microvm-shutdown for 'microforge shutdown':
     * an absolute path or a name on PATH, run by the generated script from another directory; a relative path is
     * refused (it would resolve against the caller's directory); none makes microvm-shutdown say it cannot shut down.
     */
    @Test
    void microforgeCommandIsANameOnPathOrAnAbsolutePath() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path fake = bin.resolve("fake-microforge");
        Files.writeString(fake, "#!/bin/sh\necho \"$0 $*\" > \"" + tmp.resolve("called") + "\"\n");
        fake.toFile().setExecutable(true);
        Path cwd = Files.createDirectories(tmp.resolve("elsewhere"));
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(cwd.resolve("demo.sock")));
            for (String[] c : new String[][] {{fake.toString(), fake.toString()}, {"fake-microforge", fake.toString()}}) {
                Path out = tmp.resolve("run-" + c[0].length());
                Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "--microforge", c[0], "-o", out.toString());
                assertEquals(0, r.exitCode(), r.err());
                Files.deleteIfExists(tmp.resolve("called"));
                ProcessBuilder pb = new ProcessBuilder(out.resolve("bin/microvm-shutdown").toString()).directory(cwd.toFile())
                        .redirectErrorStream(true);
                pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
                Process p = pb.start();
                String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertEquals(0, p.waitFor(), text);
                assertEquals(c[1] + " shutdown --hypervisor qemu --socket demo.sock --timeout 60\n",
                        Files.readString(tmp.resolve("called")), c[0]);
            }
            Path none = tmp.resolve("run-none");
            assertEquals(0, Cli.run("runner", "--spec", spec("").toString(), "--microforge", "none", "-o", none.toString()).exitCode());
            Process p = new ProcessBuilder(none.resolve("bin/microvm-shutdown").toString()).directory(cwd.toFile())
                    .redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(1, p.waitFor(), text);
            assertEquals("microvm-shutdown: needs microforge (this runner was generated with --microforge none)\n", text);
        }
        for (String rel : List.of("target/microforge", "./microforge")) {
            Path out = tmp.resolve("rel");
            Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "--microforge", rel, "-o", out.toString());
            assertEquals(2, r.exitCode(), r.err());
            assertEquals("microforge: --microforge " + rel + ": is a relative path, which would resolve against the directory"
                    + " microvm-run is started from; give an absolute path or a command name on PATH\n", r.err());
            assertTrue(Files.notExists(out));
        }
        Cli.Result r = Cli.run("runner", "--spec", spec("").toString(), "--microforge", "", "-o", tmp.resolve("e").toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }
}
