package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.image.StoreFixture;
import dev.microforge.testkit.Cli;
import dev.microforge.util.RawNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names and targets with control bytes never reach the terminal raw, and never fake an output line. */
class EscapingCliTest {
    @TempDir
    Path tmp;

    /** A line of human-readable output is safe when it holds no C0 control, DEL or C1 control character. */
    static void assertSafe(String text, String what) {
        for (String line : text.split("\n", -1)) {
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                assertFalse(c < 0x20 || (c >= 0x7f && c <= 0x9f), what + ": raw control character "
                        + (int) c + " in line: " + line);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"squashfs", "erofs"})
    void imageLsEscapesControlBytesInNamesAndTargets(String type) throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 1);
        String base = fx.graph().paths().stream().filter(pi -> pi.path().name().equals("pkg3")).findFirst().orElseThrow()
                .path().baseName();
        Path bin = fx.store().resolve(base).resolve("bin");
        // a name with a newline that fakes a listing line, one with an ESC sequence, a symlink target with CR + ESC
        Files.writeString(bin.resolve("x\n-rwsrwsrwx 0"), "fake\n");
        Files.writeString(bin.resolve("\u001b[2Jclear"), "esc\n");
        Files.createSymbolicLink(bin.resolve("link"), Path.of("t\r\u001b]0;title\u0007"));
        fx = StoreFixture.rehash(fx, tmp.resolve("closure2"));
        Path img = tmp.resolve("img");
        Cli.Result b = Cli.run("image", "build", "--type", type, "--closure", fx.closureFile().toString(),
                "--store-dir", fx.storeDir(), "-o", img.toString());
        assertEquals(0, b.exitCode(), b.err());
        Cli.Result ls = Cli.run("image", "ls", img.toString());
        assertEquals(0, ls.exitCode(), ls.err());
        assertSafe(ls.out(), "image ls");
        List<String> lines = ls.out().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.endsWith(" /" + base + "/bin/x\\n-rwsrwsrwx 0")), ls.out());
        assertTrue(lines.stream().anyMatch(l -> l.endsWith(" /" + base + "/bin/\\e[2Jclear")), ls.out());
        assertTrue(lines.stream().anyMatch(l -> l.endsWith(" /" + base + "/bin/link -> t\\r\\e]0;title\\x07")), ls.out());
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("-rwsrwsrwx")), ls.out());
    }

    @Test
    void errorMessagesQuoteNamesEscapedOnOneLine() {
        Path evil = tmp.resolve("no\u001b[31mfile\n-fake line\r");
        for (String[] args : List.of(new String[] {"image", "ls", evil.toString()},
                new String[] {"nix", "emit", "--spec", evil.toString()},
                new String[] {"closure", "show", "--closure", evil.toString()},
                new String[] {"nar", "hash", evil.toString()},
                new String[] {"closure", "show", "--closure-format", "x\u001b[1m"})) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertSafe(r.err().substring(0, r.err().length() - 1), String.join(" ", args));
            assertTrue(r.err().startsWith("microforge: "), r.err());
            assertTrue(r.err().contains("\\e[") || args[args.length - 1].contains("\u001b[1m"), r.err());
        }
        Cli.Result r = Cli.run("image", "ls", evil.toString());
        assertEquals("microforge: " + tmp + "/no\\e[31mfile\\n-fake line\\r: no such file\n", r.err());
    }

    @Test
    void narHashTextEscapesJsonKeepsTheExactName() throws Exception {
        Path f = tmp.resolve("a\nb\u001b");
        Files.writeString(f, "x");
        Cli.Result text = Cli.run("nar", "hash", f.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertSafe(text.out(), "nar hash");
        assertEquals(1, text.out().lines().count(), text.out());
        assertTrue(text.out().endsWith(" " + tmp + "/a\\nb\\e\n"), text.out());
        Cli.Result json = Cli.run("nar", "hash", "--format", "json", f.toString());
        assertEquals(0, json.exitCode(), json.err());
        JsonNode n = new ObjectMapper().readTree(json.out());
        assertEquals(f.toString(), n.get(0).get("path").asText());
        assertEquals(RawNames.text(RawNames.bytes(f)), n.get(0).get("path").asText());
    }
}
