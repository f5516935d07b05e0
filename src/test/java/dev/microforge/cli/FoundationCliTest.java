package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The foundation commands on the shipped example (tests/example: real store paths and Nix's closure.json). */
class FoundationCliTest {
    static final Path EXAMPLE = Tools.projectRoot().resolve("tests/example");
    static final String CLOSURE = EXAMPLE.resolve("closure.json").toString();
    static final String STORE = EXAMPLE.resolve("store").toString();

    @TempDir
    Path tmp;

    @Test
    void scanOfTheExampleFindsNoDifference() {
        Cli.Result r = Cli.run("closure", "scan", "--closure", CLOSURE, "--real-store", STORE);
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("scanned 3 paths (2920 bytes of NAR): no differences\n", r.out());
        assertEquals("", r.err());
    }

    @Test
    void narHashPrintsWhatTheClosureDeclares() {
        Path greeting = EXAMPLE.resolve("store/6j37g4zr61c7i805w27i17986kvp5bjj-example-greeting-1.0");
        Cli.Result r = Cli.run("nar", "hash", "--format", "json", greeting.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("[\n  {\n    \"path\": \"" + greeting + "\",\n    \"narHash\": \"sha256-PlH7UtvFL7ao4Ru77qmIwtXBK9jQUmHn7uk6CD7dX6k=\",\n"
                + "    \"narSize\": 880\n  }\n]\n", r.out());
        Cli.Result nix32 = Cli.run("nar", "hash", "--hash-format", "nix32", greeting.toString());
        assertTrue(nix32.out().startsWith("sha256:"), nix32.out());
        Cli.Result b16 = Cli.run("nar", "hash", "--hash-format", "base16", greeting.toString());
        assertTrue(b16.out().matches("sha256:[0-9a-f]{64} 880 .*\n"), b16.out());
    }

    @Test
    void showJsonRoundTripsThroughTheReader() throws Exception {
        Cli.Result r = Cli.run("closure", "show", "--closure", CLOSURE, "--format", "json");
        assertEquals(0, r.exitCode(), r.err());
        Path again = Files.writeString(tmp.resolve("again.json"), r.out());
        Cli.Result r2 = Cli.run("closure", "show", "--closure", again.toString(), "--format", "json");
        assertEquals(r.out(), r2.out());
        assertTrue(r.out().contains("\"closureSize\": 2920"), r.out());
    }

    @Test
    void scanReportsEveryDifferenceWithExitThree() throws Exception {
        Path copy = tmp.resolve("store");
        copyTree(EXAMPLE.resolve("store"), copy);
        Path hello = copy.resolve("zkalm3jkbpm14789wqxi72gbicq35yhc-example-hello-1.0/bin/hello");
        Files.writeString(hello, "#!/bin/sh\necho tampered\n");
        Files.delete(hello.getParent().resolveSibling("share/greeting"));
        Cli.Result r = Cli.run("closure", "scan", "--closure", CLOSURE, "--real-store", copy.toString());
        assertEquals(3, r.exitCode(), r.err());
        String p = "/nix/store/zkalm3jkbpm14789wqxi72gbicq35yhc-example-hello-1.0";
        assertTrue(r.out().contains(p + ": narHash differs: declared sha256-w1H7wwCrhruxGDZjyDMp/BOmgpASvJjKGZmGhz2h7Q4=, on disk sha256-"), r.out());
        assertTrue(r.out().contains(p + ": narSize differs: declared 1024, on disk "), r.out());
        // the tampered script no longer names the greeting path: a reference is gone
        assertTrue(r.out().contains(p + ": references differs: declared 1 path (not found on disk: /nix/store/6j37g4zr61c7i805w27i17986kvp5bjj-example-greeting-1.0), on disk 0 paths"), r.out());
        assertTrue(r.out().endsWith(": 3 differences\n"), r.out());
        assertEquals("", r.err());
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(t, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
