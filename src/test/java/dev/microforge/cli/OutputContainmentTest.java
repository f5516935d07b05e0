package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Manifest;
import dev.microforge.testkit.Root;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containment proof for every command that writes an output (image build, image extract, runner, nix emit, audit
 * size, audit self-contained): each is pointed at hostile targets (a directory with user files, the working
 * directory, '', a FIFO, symlinks to a file and to a directory, a character device, a symlink to a block device,
 * a read-only file system, a full tmpfs). Every refusal is exit 2, every I/O failure exit 1, each with one line on
 * stderr naming the target as given and never a temporary file; and a manifest of the whole surrounding tree
 * (lstat: types, modes, sizes, contents, link targets, device numbers) is identical before and after, so nothing
 * outside the named output changed and the previous good output survived.
 */
class OutputContainmentTest {
    @TempDir
    Path tmp;

    Path outer;
    Path sandbox;
    Path spec;
    Path image;
    Path example;

    record Cmd(String name, boolean dir, Function<String, String[]> args) {
        @Override
        public String toString() {
            return name;
        }
    }

    List<Cmd> cmds;

    @BeforeEach
    void setUp() throws IOException {
        example = Tools.projectRoot().resolve("tests/example");
        Path fix = Files.createDirectories(tmp.resolve("fixtures"));
        spec = fix.resolve("vm.json");
        Files.writeString(spec, "{\"name\":\"demo\",\"kernel\":\"/k\",\"storeOnDisk\":false,"
                + "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"data\",\"source\":\"/srv\",\"mountPoint\":\"/data\"}]}");
        image = fix.resolve("store.squashfs");
        String closure = example.resolve("closure.json").toString();
        String store = example.resolve("store").toString();
        Cli.Result r = Cli.run("image", "build", "--type", "squashfs", "--closure", closure, "--real-store", store,
                "-o", image.toString());
        assertEquals(0, r.exitCode(), r.err());
        cmds = List.of(
                new Cmd("image build", false, t -> new String[] {"image", "build", "--type", "squashfs", "--closure", closure,
                    "--real-store", store, "-o", t}),
                new Cmd("image extract", true, t -> new String[] {"image", "extract", image.toString(), t}),
                new Cmd("runner", true, t -> new String[] {"runner", "--spec", spec.toString(), "--microforge", "none", "-o", t}),
                new Cmd("nix emit", false, t -> new String[] {"nix", "emit", "--spec", spec.toString(), "-o", t}),
                new Cmd("audit size", false, t -> new String[] {"audit", "size", "--closure", closure, "--real-store", store, "-o", t}),
                new Cmd("audit self-contained", false, t -> new String[] {"audit", "self-contained", "--closure", closure,
                    "--real-store", store, "--no-outside-candidates", "-o", t}));
        outer = Files.createDirectories(tmp.resolve("outer"));
        Files.writeString(outer.resolve("neighbour.txt"), "beside the sandbox\n");
        sandbox = Files.createDirectories(outer.resolve("s"));
        Files.writeString(sandbox.resolve("spec-copy.json"), "user file\n");
        Path user = Files.createDirectories(sandbox.resolve("userdir/sub"));
        Files.writeString(user.resolve("b.txt"), "user data\n");
        Files.writeString(sandbox.resolve("userdir/home.img"), "disk image\n");
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("target.txt"), "the link target\n");
        Files.createSymbolicLink(sandbox.resolve("link-to-file"), elsewhere.resolve("target.txt"));
        Files.createSymbolicLink(sandbox.resolve("link-to-dir"), elsewhere);
        Files.createSymbolicLink(sandbox.resolve("link-to-missing"), elsewhere.resolve("missing"));
    }

    /** Runs {@code c} on {@code target}; asserts the exit code, one stderr line naming it, and an unchanged tree. */
    void expectFailure(Cmd c, Path target, int code, String phrase) throws IOException {
        Map<String, String> before = Manifest.of(tmp);
        Cli.Result r = Cli.run(c.args().apply(target.toString()));
        assertEquals(code, r.exitCode(), c + " -> " + target + ": " + r.err() + r.out());
        checkMessage(c, target.toString(), r.err(), phrase);
        assertEquals(before, Manifest.of(tmp), c + " -> " + target + ": the tree changed");
    }

    static void checkMessage(Cmd c, String target, String err, String phrase) {
        assertTrue(err.startsWith("microforge: ") && err.endsWith("\n") && err.indexOf('\n') == err.length() - 1,
                c + ": one line on stderr: " + err);
        assertTrue(err.contains(target), c + ": the message names " + target + ": " + err);
        assertFalse(err.contains(".part") || err.contains(".old-") || err.contains("Exception") || err.contains("\tat "),
                c + ": no temporary file or stack trace: " + err);
        if (phrase != null) {
            assertTrue(err.contains(phrase), c + ": expected '" + phrase + "' in: " + err);
        }
    }

    @Test
    void directoryWithUserFiles() throws IOException {
        for (Cmd c : cmds) {
            expectFailure(c, sandbox.resolve("userdir"), 2, c.name().equals("runner")
                    ? "exists and is not a runner directory written by microforge (refusing to replace it)"
                    : c.dir() ? "directory is not empty" : "is a directory");
        }
    }

    @Test
    void fifoIsNeverOpened() throws Exception {
        Path fifo = sandbox.resolve("fifo");
        Root.run("mkfifo", fifo.toString());
        for (Cmd c : cmds) {
            expectFailure(c, fifo, 2, c.name().equals("runner") ? "not a runner directory" : "is a FIFO");
        }
    }

    @Test
    void symlinksAreNotFollowedOrReplaced() throws IOException {
        for (Cmd c : cmds) {
            for (String l : List.of("link-to-file", "link-to-dir", "link-to-missing")) {
                expectFailure(c, sandbox.resolve(l), 2, c.name().equals("runner") ? "not a runner directory" : "is a symbolic link");
            }
        }
    }

    @Test
    void missingParentDirectory() throws IOException {
        for (Cmd c : cmds) {
            expectFailure(c, sandbox.resolve("no/such/out"), 2, "does not exist");
        }
    }

    /** '.', '' and the home directory, through the CLI in its own JVM run in the sandbox (never in the project directory). */
    @Test
    void workingDirectoryEmptyPathAndHome() throws Exception {
        Path home = Files.createDirectories(sandbox.resolve("home"));
        Files.writeString(home.resolve(".profile"), "user settings\n");
        for (Cmd c : cmds) {
            for (String t : List.of(".", "", "./", home.toString())) {
                Map<String, String> before = Manifest.of(tmp);
                List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                        "-Duser.home=" + home));
                cmd.addAll(dev.microforge.testkit.JarCli.launch());
                cmd.addAll(List.of(c.args().apply(t)));
                Process p = new ProcessBuilder(cmd).directory(sandbox.toFile()).redirectOutput(tmp.resolve("jar.out").toFile())
                        .redirectError(tmp.resolve("jar.err").toFile()).start();
                assertTrue(p.waitFor(120, TimeUnit.SECONDS), c + " " + t + ": hangs");
                String err = Files.readString(tmp.resolve("jar.err"));
                Files.delete(tmp.resolve("jar.out"));
                Files.delete(tmp.resolve("jar.err"));
                assertEquals(2, p.exitValue(), c + " -o '" + t + "': " + err);
                checkMessage(c, t.isEmpty() ? "" : t.equals("./") ? "." : t, err, t.isEmpty() ? "empty" : null);
                assertEquals(before, Manifest.of(tmp), c + " -o '" + t + "': the tree changed");
            }
        }
    }

    /** A 255-byte output name leaves no room for a longer temporary name beside it: the temporary name is shortened. */
    @Test
    void longestOutputName() throws IOException {
        String name = "n".repeat(255);
        for (Cmd c : cmds) {
            Path out = Files.createDirectories(sandbox.resolve("long-" + c.name().replace(' ', '-'))).resolve(name);
            Cli.Result r = Cli.run(c.args().apply(out.toString()));
            assertEquals(0, r.exitCode(), c + ": " + r.err());
            assertTrue(Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS), c.name());
            r = Cli.run(c.args().apply(out.toString()));
            assertEquals(c.name().equals("image extract") ? 2 : 0, r.exitCode(), c + " again: " + r.err());
            try (var s = Files.list(out.getParent())) {
                assertEquals(List.of(name), s.map(p -> p.getFileName().toString()).toList(), c + ": no temporary left");
            }
        }
    }

    /** A directory or FIFO where a file is read: one line naming it, exit 2, no hang (was "I/O error: Is a directory"). */
    @Test
    void directoryOrFifoAsInput() throws Exception {
        Path fifo = sandbox.resolve("fifo");
        Root.run("mkfifo", fifo.toString());
        Path d = sandbox.resolve("userdir");
        Map<String, String> before = Manifest.of(tmp);
        Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("image", "ls", d.toString()), d + ": not a regular file (a directory)");
        cases.put(List.of("image", "verify", d.toString(), "--closure", example.resolve("closure.json").toString()),
                d + ": not a regular file (a directory)");
        cases.put(List.of("image", "extract", d.toString(), sandbox.resolve("x").toString()), d + ": not a regular file (a directory)");
        cases.put(List.of("runner", "--spec", d.toString(), "-o", sandbox.resolve("r").toString()), d + ": not a regular file (a directory)");
        cases.put(List.of("nix", "emit", "--spec", d.toString()), d + ": not a regular file (a directory)");
        cases.put(List.of("nix", "emit", "--spec", spec.toString(), "--check", "-o", d.toString()),
                d + ": not a regular file (a directory)");
        cases.put(List.of("nix", "emit", "--spec", spec.toString(), "--check", "-o", fifo.toString()),
                fifo + ": not a regular file (a FIFO)");
        for (var e : cases.entrySet()) {
            Cli.Result r = Cli.run(e.getKey().toArray(String[]::new));
            assertEquals(2, r.exitCode(), e.getKey() + ": " + r.err());
            assertEquals("microforge: " + e.getValue() + "\n", r.err(), e.getKey().toString());
        }
        assertEquals(before, Manifest.of(tmp));
    }

    /** A regular file (file outputs) or microforge's own runner is replaced; nothing else in the tree changes. */
    @Test
    void previousOutputIsReplacedAndNothingElse() throws IOException {
        for (Cmd c : cmds) {
            Path out = sandbox.resolve("out-" + c.name().replace(' ', '-'));
            if (!c.name().equals("image extract")) {
                if (!c.dir()) {
                    Files.writeString(out, "previous output\n");
                } else {
                    assertEquals(0, Cli.run(c.args().apply(out.toString())).exitCode());
                }
            }
            Map<String, String> before = Manifest.of(tmp);
            Cli.Result r = Cli.run(c.args().apply(out.toString()));
            assertEquals(0, r.exitCode(), c + ": " + r.err());
            Map<String, String> after = Manifest.of(tmp);
            String prefix = "outer/s/" + out.getFileName();
            before.keySet().removeIf(k -> k.equals(prefix) || k.startsWith(prefix + "/"));
            after.keySet().removeIf(k -> k.equals(prefix) || k.startsWith(prefix + "/"));
            assertEquals(before, after, c + ": only the output changed");
        }
    }

    @Test
    @Tag("root")
    void devicesAreRefused() throws Exception {
        Root.require("mknod");
        Path chr = sandbox.resolve("null");
        Root.run("mknod", chr.toString(), "c", "1", "3");
        Path blk = sandbox.resolve("blockdev");
        Root.run("mknod", blk.toString(), "b", "7", "250");
        Path zvol = Files.createDirectories(sandbox.resolve("zvol/pool"));
        Files.createSymbolicLink(zvol.resolve("vol"), blk);
        for (Cmd c : cmds) {
            boolean runner = c.name().equals("runner");
            expectFailure(c, chr, 2, runner ? "not a runner directory" : "is a character device");
            expectFailure(c, blk, 2, runner ? "not a runner directory" : "is a block device");
            expectFailure(c, zvol.resolve("vol"), 2, runner ? "not a runner directory" : "is a symbolic link");
        }
    }

    /** A read-only file system (root: a tmpfs mounted ro; others: a 0555 directory): exit 1, output unchanged. */
    @Test
    void readOnlyDirectory() throws Exception {
        Path ro = Files.createDirectories(sandbox.resolve("ro"));
        boolean root = Root.isRoot();
        if (root) {
            Root.run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", ro.toString());
        }
        try {
            for (Cmd c : cmds) {
                if (!c.name().equals("image extract")) {
                    assertEquals(0, Cli.run(c.args().apply(ro.resolve("prev-" + c.name().replace(' ', '-')).toString())).exitCode());
                }
            }
            if (root) {
                Root.run("mount", "-o", "remount,ro", ro.toString());
            } else {
                Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
            }
            for (Cmd c : cmds) {
                expectFailure(c, ro.resolve("prev-" + c.name().replace(' ', '-')), 1,
                        root ? "Read-only file system" : "permission denied");
            }
        } finally {
            if (root) {
                Root.run("umount", ro.toString());
            } else {
                Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    /** ENOSPC: a 64 KiB tmpfs holding the previous outputs, then filled up: exit 1 naming the output path. */
    @Test
    @Tag("root")
    void fullFileSystem() throws Exception {
        Root.require("mount -t tmpfs");
        Path full = Files.createDirectories(sandbox.resolve("full"));
        Root.run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full.toString());
        try {
            for (Cmd c : cmds) {
                if (!c.name().equals("image extract")) {
                    Cli.Result r = Cli.run(c.args().apply(full.resolve("prev-" + c.name().replace(' ', '-')).toString()));
                    assertEquals(0, r.exitCode(), c + ": " + r.err());
                }
            }
            try (OutputStream o = Files.newOutputStream(full.resolve("filler"))) {
                byte[] b = new byte[4096];
                while (true) {
                    o.write(b);
                    o.flush();
                }
            } catch (IOException e) {
                assertTrue(String.valueOf(e.getMessage()).contains("No space left"), e.toString());
            }
            for (Cmd c : cmds) {
                expectFailure(c, full.resolve("prev-" + c.name().replace(' ', '-')), 1, "No space left on device");
            }
        } finally {
            Root.run("umount", full.toString());
        }
    }
}
