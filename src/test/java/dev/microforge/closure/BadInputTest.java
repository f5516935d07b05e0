package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input in every closure format and on disk: one line naming file and line or path, exit 2, no stack trace. */
class BadInputTest {
    static final String A = "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a";
    static final String B = "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-b";
    static final String H16 = "3e51fb52dbc52fb6a8e11bbbeea988c2d5c12bd8d05261e7eee93a083edd5fa9";
    static final String H32 = "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
    static final Path EXAMPLE = Tools.projectRoot().resolve("tests/example");

    @TempDir
    Path tmp;

    /** Runs closure show on {@code content} and checks the one-line error "FILE:LINE: ...expected...". */
    void bad(String content, int line, String expected) throws Exception {
        bad(content.getBytes(StandardCharsets.ISO_8859_1), line, expected);
    }

    void bad(byte[] content, int line, String expected) throws Exception {
        Path f = Files.write(tmp.resolve("closure-" + Integer.toHexString(java.util.Arrays.hashCode(content))), content);
        Cli.Result r = Cli.run("closure", "show", "--closure", f.toString());
        String prefix = "microforge: " + f + ":" + line + ": ";
        oneLine(r, prefix, expected);
    }

    static void oneLine(Cli.Result r, String prefix, String expected) {
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().endsWith("\n") && r.err().indexOf('\n') == r.err().length() - 1, "one line: " + r.err());
        assertTrue(r.err().startsWith(prefix), "expected prefix " + prefix + " in: " + r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), r.err());
    }

    // ---- exportReferencesGraph ------------------------------------------------------------------------
    @Test
    void exportReferencesGraph() throws Exception {
        String good = A + "\n\n2\n" + A + "\n" + B + "\n" + B + "\n\n0\n";
        bad(good.substring(0, good.length() - 3), 7, "unexpected end of file: expected the deriver line of " + B + " (truncated file?)");
        bad(good.substring(0, good.length() - 1), 8, "unexpected end of file: the last line has no newline (truncated?)");
        bad(A + "\n\n2\n" + A + "\n", 3, "reference count 2 of " + A + " exceeds the 1 lines left in the file");
        bad(A + "\n\n1\n" + A + "\n" + B + "\n\n", 7, "unexpected end of file: expected the reference count of " + B);
        bad(A + "\n\n1\n" + A + "\n" + B + "\n" + A + "\n\n0\n", 7, "expected the reference count of " + B + " (a non-negative integer), got ''");
        bad(A + "\n\nx\n", 3, "expected the reference count of " + A + " (a non-negative integer), got 'x'");
        bad(A + "\n\n-1\n", 3, "got '-1'");
        bad(A + "\n\n99999999999999999999\n", 3, "got '99999999999999999999'");
        bad("/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x\n\n0\n", 1, "invalid character 'e' in hash part");
        bad("/nix/store/../etc/passwd\n\n0\n", 1, "is not directly inside the store directory /nix/store");
        bad("/etc/passwd\n\n0\n", 1, "is not in the store directory /nix/store");
        bad("/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-" + "n".repeat(212) + "\n\n0\n", 1, "store path name is too long (212 > 211 characters)");
        bad("/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a b\n\n0\n", 1, "invalid character ' ' in store path name");
        bad("/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-.hidden\n\n0\n", 1, "starts with '.'");
        bad(A + "\n\n1\n" + B + "\n", 4, "the closure is not closed: " + B + " is referenced by " + A + " but is not in the closure");
        bad(A + "\n\n1\n\n", 3, "reference count 1 of " + A + " exceeds the 0 lines left in the file (wrong count or truncated file?)");
        bad(A + "\n\n2\n\n" + A + "\n", 4, "expected reference 1 of 2 of " + A + ", got an empty line (wrong count?)");
        bad(A + "\n\n0\n" + A + "\n\n1\n" + A + "\n", 4, "path " + A + " is listed again (first at line 1) with different information");
    }

    @Test
    void garbageInEveryFormat() throws Exception {
        byte[] garbage = new byte[4096];
        new Random(42).nextBytes(garbage);
        garbage[0] = 'x';
        bad(garbage, 1, "not a closure file: expected a store path, '[' or '{' at the start");
        bad("hello world\n", 1, "not a closure file");
        byte[] slash = garbage.clone();
        slash[0] = '/';
        Path f = Files.write(tmp.resolve("slash"), slash);
        Cli.Result r = Cli.run("closure", "show", "--closure", f.toString());
        oneLine(r, "microforge: " + f + ":", "unexpected byte 0x");
        for (String fmt : List.of("export-references-graph", "registration", "dump-db", "path-info-json")) {
            Cli.Result g = Cli.run("closure", "show", "--closure-format", fmt, "--closure", f.toString());
            oneLine(g, "microforge: " + f + ":", "");
        }
        bad("[{\"path\": 3}]", 1, "'path' must be a string");
    }

    // ---- registration, closureInfo, dump-db ------------------------------------------------------------
    @Test
    void registrationAndDumpDb() throws Exception {
        bad(A + "\n" + H32 + "\n120\n\n0\n" + B + "\n" + H32 + "\n", 8, "unexpected end of file: expected the narSize of " + B + " (truncated file?)");
        bad(A + "\n" + H32.replace('1', 'e') + "\n120\n\n0\n", 2, "invalid narHash of " + A + ": invalid hash");
        bad(A + "\n" + H16.replace('3', 'g') + "\n120\n\n0\n", 2, "invalid narHash of " + A);
        bad(A + "\n" + H16 + "\n12x\n\n0\n", 3, "expected the narSize of " + A + " (a non-negative integer), got '12x'");
        bad(A + "\n" + H16 + "\n120\n\n3\n" + A + "\n", 5, "reference count 3 of " + A + " exceeds the 1 lines left");
        bad(A + "\n" + H16 + "\n120\n/nix/store/x\n0\n", 4, "expected a store path, got '/nix/store/x'");
        bad(A + "\n" + H16 + "\n120\n", 4, "unexpected end of file: expected the deriver line of " + A);
    }

    @Test
    void closureInfoDirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("closure-info"));
        Cli.Result r = Cli.run("closure", "show", "--closure", dir.toString());
        oneLine(r, "microforge: " + dir + ": ", "not a closureInfo directory: it has no 'registration' file");
        Files.writeString(dir.resolve("registration"), A + "\n" + H32 + "\n120\n\n0\n");
        Files.writeString(dir.resolve("store-paths"), A + "\n" + B + "\n");
        r = Cli.run("closure", "show", "--closure", dir.toString());
        oneLine(r, "microforge: " + dir.resolve("store-paths") + ":2: ", B + " is not in " + dir.resolve("registration"));
        Files.writeString(dir.resolve("store-paths"), "");
        r = Cli.run("closure", "show", "--closure", dir.toString());
        oneLine(r, "microforge: " + dir.resolve("store-paths") + ": ", A + " is in " + dir.resolve("registration") + " but not listed here");
        r = Cli.run("closure", "show", "--closure-format", "registration", "--closure", dir.toString());
        oneLine(r, "microforge: " + dir + ": ", "is a directory, not a registration file");
    }

    // ---- path-info JSON --------------------------------------------------------------------------------
    @Test
    void pathInfoJson() throws Exception {
        String good = "[\n{\"path\":\"" + A + "\",\"narHash\":\"" + H32 + "\",\"narSize\":1,\"references\":[]}\n]\n";
        bad(good.substring(0, good.length() - 5), 2, "invalid JSON: Unexpected end-of-input");
        bad("[\n{\"path\":\"" + A + "\",\"narHash\":\"" + H32 + "\",\"narSize\":-1,\"references\":[]}]", 2, "'narSize' must be a non-negative integer");
        bad("[\n{\"path\":\"" + A + "\",\"narHash\":\"sha256-xyz\",\"narSize\":1,\"references\":[]}]", 2, "invalid narHash of " + A);
        bad("[\n{\"path\":\"" + A + "\",\"narSize\":1,\"references\":[]}]", 2, A + " has no 'narHash'");
        bad("[\n{\"path\":\"" + A + "\",\"narHash\":\"" + H32 + "\",\"narSize\":1,\n\"references\":[\"" + B + "\"]}]", 3,
                "the closure is not closed: " + B + " is referenced by " + A + " but is not in the closure");
        bad("{\n\"" + A + "\": null\n}", 2, A + " is not a valid path in the store that printed this file");
        bad("[{\"path\":\"" + A + "\",\"valid\":false}]", 1, A + " is not a valid path");
        bad("{\"version\":2,\"storeDir\":\"/gnu/store\",\"info\":{}}", 1, "the file's storeDir /gnu/store differs from the store directory /nix/store (use --store-dir)");
        bad("{\"version\":9,\"info\":{}}", 1, "unsupported path-info JSON version 9");
        bad("{\"version\":2,\"storeDir\":\"/nix/store\",\"info\":{\n\"../etc/passwd\":{\"narHash\":\"" + H32 + "\",\"narSize\":1,\"references\":[]}}}", 2,
                "expected a store path, got '../etc/passwd'");
        bad("[1]", 1, "expected an object in the list");
        bad("\"x\"", 1, "not a closure file");
        Path str = Files.writeString(tmp.resolve("str.json"), "\"x\"");
        oneLine(Cli.run("closure", "show", "--closure-format", "path-info-json", "--closure", str.toString()),
                "microforge: " + str + ":1: ", "expected a JSON list or object");
        bad("[] []", 1, "unexpected data after the JSON value");
    }

    // ---- on disk --------------------------------------------------------------------------------------
    @Test
    void listedPathMissingOnDisk() throws Exception {
        Path store = Files.createDirectories(tmp.resolve("empty-store"));
        Cli.Result r = Cli.run("closure", "scan", "--closure", EXAMPLE.resolve("closure.json").toString(), "--real-store", store.toString());
        oneLine(r, "microforge: /nix/store/6j37g4zr61c7i805w27i17986kvp5bjj-example-greeting-1.0: ",
                "store path is missing on disk (looked for " + store.resolve("6j37g4zr61c7i805w27i17986kvp5bjj-example-greeting-1.0") + ")");
        Cli.Result n = Cli.run("nar", "hash", tmp.resolve("nope").toString());
        oneLine(n, "microforge: " + tmp.resolve("nope") + ": ", "no such file or directory");
        Cli.Result c = Cli.run("closure", "show", "--closure", tmp.resolve("nope").toString());
        oneLine(c, "microforge: " + tmp.resolve("nope") + ": ", "no such file");
    }

    @Test
    void fifoInAStorePathAndAsClosureFile() throws Exception {
        Path p = Files.createDirectories(tmp.resolve("store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a"));
        Path fifo = p.resolve("pipe");
        Exec.ok("mkfifo", fifo.toString());
        Cli.Result r = Cli.run("nar", "hash", p.toString());
        oneLine(r, "microforge: " + fifo + ": ", "unsupported file type (FIFO)");
        Cli.Result c = Cli.run("closure", "show", "--closure", fifo.toString());
        oneLine(c, "microforge: " + fifo + ": ", "not a regular file");
    }

    /**
     * Permission denied is real only for a non-root user: run the CLI as 'nobody' (root ignores file modes). Switching
     * to 'nobody' takes root: tagged "root" (the README's quick loop excludes it).
     */
    @Test
    @Tag("root")
    void unreadableFileAsNonRootUser() throws Exception {
        Tools.requireRoot("runuser -u nobody");
        Path runuser = Tools.require("runuser");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // a classpath nobody can read: copy our classes and the runtime jars out of /root/.m2
        Path world = Files.createDirectories(tmp.resolve("world"));
        List<String> cp = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(e);
            if (e.contains("test-classes") || e.contains("junit") || e.contains("opentest4j") || e.contains("apiguardian")) {
                continue;
            }
            Path dst = world.resolve("cp" + (i++) + (Files.isDirectory(src) ? "" : ".jar"));
            Exec.ok("cp", "-r", src.toString(), dst.toString());
            cp.add(dst.toString());
        }
        Path secret = Files.writeString(world.resolve("secret"), "x");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
        Path dir = Files.createDirectories(world.resolve("tree/closed"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("---------"));
        Exec.ok("chmod", "755", tmp.toString(), world.toString(), world.resolve("tree").toString());
        for (String c : cp) {
            Exec.ok("chmod", "-R", "a+rX", c);
        }
        List<String> cmd = new ArrayList<>(List.of(runuser.toString(), "-u", "nobody", "--", java.toString(),
                "--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp), "dev.microforge.cli.Main"));
        List<String> c1 = new ArrayList<>(cmd);
        c1.addAll(List.of("nar", "hash", secret.toString()));
        Exec.Result r = Exec.run(c1, null, null, 120);
        assertEquals(2, r.exitCode(), r.stderr());
        assertEquals("microforge: " + secret + ": permission denied\n", r.stderr());
        List<String> c2 = new ArrayList<>(cmd);
        c2.addAll(List.of("nar", "hash", world.resolve("tree").toString()));
        r = Exec.run(c2, null, null, 120);
        assertEquals(2, r.exitCode(), r.stderr());
        assertEquals("microforge: " + dir + ": permission denied (cannot list directory)\n", r.stderr());
        List<String> c3 = new ArrayList<>(cmd);
        c3.addAll(List.of("closure", "show", "--closure", secret.toString()));
        r = Exec.run(c3, null, null, 120);
        assertEquals(2, r.exitCode(), r.stderr());
        assertEquals("microforge: " + secret + ": permission denied\n", r.stderr());
    }
}
