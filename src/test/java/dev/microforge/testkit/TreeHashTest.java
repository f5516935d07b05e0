package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TreeHashTest {
    @TempDir
    Path tmp;

    @Test
    void hostManifestHasEveryKindOfEntry() throws Exception {
        Path t = TestTrees.rich(tmp.resolve("t"), 50);
        TreeHash.Manifest m = TreeHash.of(t);
        String text = m.text();
        assertTrue(text.startsWith(". d 0755 - -\n"), text);
        assertTrue(text.contains("./pkg-1.0/lib/libfoo.so l 0777 11 -> libfoo.so.1\n"), text);
        assertTrue(text.contains("./pkg-1.0/share/non-utf8-\\xff\\xfex f 0444 12 sha256:"), text);
        assertTrue(text.contains("./pkg-1.0/share/with\\x20space f 0444 6 sha256:"), text);
        assertTrue(text.contains("./pkg-1.0/share/empty f 0444 0 sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"), text);
        assertTrue(text.contains("./pkg-1.0/bin/hello f 0555 "), text);
        // sorted by raw bytes: the astral (F0) name sorts after the fullwidth (EF) one, unlike UTF-16 order
        assertTrue(text.indexOf("\\xef\\xbc\\xa1-fullwidth") < text.indexOf("\\xf0\\x9f\\x98\\x80-astral"), text);
        assertEquals(m, TreeHash.of(t), "stable");
    }

    @Test
    void treeWithNewlineInANameIsRefused() throws Exception {
        Files.createDirectories(tmp.resolve("n"));
        Files.writeString(tmp.resolve("n/a\nb"), "x");
        assertThrows(IllegalArgumentException.class, () -> TreeHash.of(tmp.resolve("n")));
    }

    @Test
    void differencesAreListedLineByLine() {
        TreeHash.Manifest a = new TreeHash.Manifest(List.of(". d 0755 - -", "./x f 0644 1 sha256:aa"));
        TreeHash.Manifest b = new TreeHash.Manifest(List.of(". d 0755 - -", "./x f 0644 1 sha256:bb"));
        AssertionError e = assertThrows(AssertionError.class, () -> TreeHash.assertSame(a, b, "img"));
        assertTrue(e.getMessage().contains("  - ./x f 0644 1 sha256:aa\n  + ./x f 0644 1 sha256:bb"), e.getMessage());
    }

    @Test
    void reportSectionsAreParsedFromRawBytes() {
        byte[] raw = ("hello\n@@BEGIN a\nx\u00ff\n@@END a\n@@EXIT 0\n").getBytes(StandardCharsets.ISO_8859_1);
        Guest.Report r = Guest.Report.parse(raw, "", "", 0, false, Duration.ZERO, "cmd", tmp);
        assertEquals(0, r.exitStatus());
        assertTrue(r.ok());
        assertEquals(List.of("hello", "x\ufffd"), r.lines());
        assertEquals("x\u00ff\n", new String(r.section("a"), StandardCharsets.ISO_8859_1));
        assertThrows(AssertionError.class, () -> r.section("b"));
        Guest.Report noExit = Guest.Report.parse("partial\n".getBytes(StandardCharsets.US_ASCII), "Kernel panic", "", 0, false,
                Duration.ZERO, "cmd", tmp);
        AssertionError e = assertThrows(AssertionError.class, noExit::check);
        assertTrue(e.getMessage().contains("never reported an exit status") && e.getMessage().contains("Kernel panic"), e.getMessage());
    }

    /** The guest-side functions, run by the host's own (same) busybox: the parser agrees with the host walk. */
    @Test
    @Tag("oracle")
    void busyboxSideMatchesHostWalk() throws Exception {
        Path bb = Guest.busybox();
        Path t = TestTrees.rich(tmp.resolve("t"), 300);
        Path funcs = tmp.resolve("funcs.sh");
        Files.writeString(funcs, TreeHash.GUEST_FUNCTIONS);
        // busybox sh with applets preferred over the host's coreutils, as in the guest
        Exec.Result r = Exec.run(List.of(bb.toString(), "sh", "-e", "-c", ". " + funcs + "; treehash \"$1\" t", "sh", t.toString()),
                null, Map.of("PATH", "/nonexistent", "BB_PREFER_APPLETS", "1"), 120);
        if (r.exitCode() != 0) {
            // busybox without FEATURE_PREFER_APPLETS/standalone shell: use a bin dir of applet symlinks
            Path bin = Files.createDirectories(tmp.resolve("bin"));
            for (String a : List.of("find", "stat", "sha256sum", "cat")) {
                Files.createSymbolicLink(bin.resolve(a), bb);
            }
            r = Exec.run(List.of(bb.toString(), "sh", "-e", "-c", ". " + funcs + "; treehash \"$1\" t", "sh", t.toString()),
                    null, Map.of("PATH", bin.toString()), 120).check(List.of("busybox sh treehash"));
        }
        byte[] out = r.stdout();
        byte[] withExit = new byte[out.length + 9];
        System.arraycopy(out, 0, withExit, 0, out.length);
        System.arraycopy("@@EXIT 0\n".getBytes(StandardCharsets.US_ASCII), 0, withExit, out.length, 9);
        Guest.Report rep = Guest.Report.parse(withExit, "", "", 0, false, Duration.ZERO, "busybox", tmp);
        TreeHash.Manifest guest = TreeHash.fromGuest(rep, "t");
        TreeHash.Manifest host = TreeHash.of(t);
        TreeHash.assertSame(host, guest, "busybox treehash vs host walk");
        assertTrue(host.size() > 330, "entries: " + host.size());
    }
}
