package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An empty closure in every shape is bad input (exit 2, {@code FILE: empty closure (no store paths)}, no output file)
 * for every command that reads one, unless {@code --allow-empty} asks for it.
 */
class EmptyClosureTest {
    @TempDir
    Path tmp;

    /** The empty closures: what to pass as --closure (plus options), and the file the message must name. */
    Map<String, String[]> cases() throws IOException {
        Map<String, String[]> c = new LinkedHashMap<>();
        c.put("zero-byte", file("zero", ""));
        c.put("json list", file("list.json", "[]\n"));
        c.put("json object", file("object.json", "{}"));
        c.put("json versioned", file("v2.json", "{\"version\": 2, \"storeDir\": \"/nix/store\", \"info\": {}}\n"));
        c.put("registration", new String[] {file("registration", "")[0], "--closure-format", "registration"});
        Path info = tmp.resolve("closure-info");
        Files.createDirectories(info);
        Files.writeString(info.resolve("registration"), "");
        Files.writeString(info.resolve("store-paths"), "");
        c.put("closureInfo", new String[] {info.toString(), "--closure-format", "closure-info"});
        c.put("closureInfo auto", new String[] {info.toString()});
        return c;
    }

    String[] file(String name, String content) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, content);
        return new String[] {f.toString()};
    }

    static String named(String[] c) {
        Path p = Path.of(c[0]);
        return (Files.isDirectory(p) ? p.resolve("registration") : p) + ": empty closure (no store paths)";
    }

    static Cli.Result run(String[] closure, String... cmd) {
        List<String> args = new ArrayList<>(List.of(cmd));
        args.add("--closure");
        args.addAll(List.of(closure));
        return Cli.run(args.toArray(new String[0]));
    }

    static void bad(String what, String expected, Cli.Result r) {
        assertEquals(2, r.exitCode(), what + ": " + r.out() + r.err());
        assertTrue(r.err().startsWith("microforge: " + expected), what + ": " + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals("", r.out(), what);
    }

    @Test
    void everyShapeIsBadInput() throws IOException {
        Path store = Files.createDirectories(tmp.resolve("store"));
        for (Map.Entry<String, String[]> e : cases().entrySet()) {
            String[] c = e.getValue();
            bad(e.getKey(), named(c), run(c, "closure", "show"));
            bad(e.getKey(), named(c), run(c, "closure", "show", "--format", "json"));
            bad(e.getKey(), named(c), run(c, "audit", "size", "--budget", "1K", "--real-store", store.toString()));
            bad(e.getKey(), named(c), run(c, "audit", "self-contained", "--real-store", store.toString()));
            Path out = tmp.resolve("out.img");
            bad(e.getKey(), named(c), run(c, "image", "build", "--type", "squashfs", "-o", out.toString(),
                    "--real-store", store.toString()));
            assertFalse(Files.exists(out), e.getKey() + ": an image was written");
            try (var s = Files.list(tmp)) {
                assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith("out.img")), e.getKey());
            }
        }
    }

    @Test
    void emptyBaselineIsBadInputToo() throws IOException {
        Path closure = tmp.resolve("one");
        Files.writeString(closure, "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a\n\n0\n");
        String[] empty = file("empty.json", "[]");
        Cli.Result r = Cli.run("audit", "size", "--closure", closure.toString(), "--baseline", empty[0],
                "--real-store", tmp.toString());
        bad("baseline", named(empty), r);
    }

    @Test
    void allowEmptyAsksForIt() throws IOException {
        for (Map.Entry<String, String[]> e : cases().entrySet()) {
            Cli.Result r = run(e.getValue(), "closure", "show", "--allow-empty");
            assertEquals(0, r.exitCode(), e.getKey() + ": " + r.err());
            assertEquals("0 paths, 0 bytes (0 B) of NAR, roots: \n", r.out(), e.getKey());
            Cli.Result json = run(e.getValue(), "closure", "show", "--allow-empty", "--format", "json");
            assertEquals(0, json.exitCode(), e.getKey() + ": " + json.err());
            assertEquals("[]\n", json.out(), e.getKey());
        }
    }
}
