package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnitTextTest {
    @TempDir
    Path tmp;

    @Test
    void execArgumentsAreQuotedAndEscaped() {
        assertEquals("/bin/x plain", UnitText.exec("", "f", "/bin/x", List.of("plain")));
        assertEquals("-/bin/x \"a b\" \"100%% $$HOME\" \"\\\"dq\\\" 'sq' \\\\bs\" \"\\x3b\" \"\"",
                UnitText.exec("-", "f", "/bin/x", List.of("a b", "100% $HOME", "\"dq\" 'sq' \\bs", ";", "")));
    }

    @Test
    void controlCharactersAreRefusedNamingTheField() {
        UserError e = assertThrows(UserError.class, () -> UnitText.exec("", "shares[0].source", "/bin/x", List.of("a\nb")));
        assertEquals("shares[0].source: 'a\\nb' contains a newline, which a systemd unit file cannot hold", e.getMessage());
        assertThrows(UserError.class, () -> UnitText.text("name", "a\rb"));
        assertThrows(UserError.class, () -> UnitText.env("--path", "PATH", "a\tb"));
        assertThrows(UserError.class, () -> UnitText.exec("", "--runner", "relative/bin", List.of()));
        assertThrows(UserError.class, () -> UnitText.exec("", "--runner", "/a$b/bin", List.of()));
        assertThrows(UserError.class, () -> UnitText.path("--state-dir", "/a/b\\"));
        assertThrows(UserError.class, () -> UnitText.path("--state-dir", "/a/b "));
        assertEquals("/a/100%%", UnitText.path("--state-dir", "/a/100%"));
        assertEquals("\"PATH=/a b:$x\\\\\"", UnitText.env("--path", "PATH", "/a b:$x\\"));
    }

    /**
     * systemd-escape is the oracle for unit-name escaping. UnitText's rule differs from it in exactly three bytes:
     * '-' is kept (systemd-escape writes \x2d), '/' is written \x2f (systemd-escape writes '-') and ':' is written
     * \x3a (systemd-escape keeps it); the test states all three, so any other difference fails.
     */
    @Test
    @Tag("oracle")
    void unitNamesAgreeWithSystemdEscape() throws Exception {
        String escape = Tools.require("systemd-escape").toString();
        for (String v : List.of("web", "web-1", ".hidden", "a b", "t@g", "x:y", "caf\u00e9", "a\\b", "a%b", "a-b:c.d_e",
                "-lead", "x/y")) {
            String part = UnitText.namePart(v);
            String sd = Exec.ok(escape, "--", v).out().strip();
            // a '-' in systemd-escape's output can only stand for '/'
            assertEquals(sd.replace("-", "\\x2f").replace("\\x2d", "-").replace(":", "\\x3a"), part, v);
            if (!v.matches(".*[-/:].*")) {
                assertEquals(sd, part, "same as systemd-escape without '-', '/' and ':': " + v);
            }
            // systemd's own unescaping (what %I would do) turns a kept '-' into '/': the units never use %I
            assertEquals(v.replace('-', '/'), Exec.ok(escape, "--unescape", "--", part).out().strip(), v);
        }
        for (String ifname : List.of("br0", "br-lan", "en.p1", "x_y")) {
            String want = Exec.ok(escape, "--path", "--suffix=device", "/sys/subsystem/net/devices/" + ifname).out().strip();
            assertEquals(want, UnitText.deviceUnit(ifname), ifname);
        }
    }

    /** Bad input on the command line: one line naming the file and field, exit 2, nothing written. */
    @Test
    void unitsCommandRefusesANewlineInAValue() throws Exception {
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, """
                {"name": "v", "kernel": "/k", "storeOnDisk": false,
                 "shares": [{"proto": "virtiofs", "tag": "t", "source": "/srv/a\\nb", "mountPoint": "/t"}]}
                """);
        Path out = tmp.resolve("units");
        Cli.Result r = Cli.run("units", "--spec", spec.toString(), "--runner", "/var/lib/microforge/v/current", "-o", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("microforge: " + spec + ": shares[0].source: "), r.err());
        assertTrue(r.err().contains("newline"), r.err());
        assertFalse(Files.exists(out), "nothing written");
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(spec), s.toList(), "no temporary left behind");
        }
        Cli.Result rel = Cli.run("units", "--spec", spec.toString(), "--runner", "runner", "-o", out.toString());
        assertEquals(2, rel.exitCode(), rel.err());
        assertEquals("microforge: --runner: 'runner' is not an absolute path\n", rel.err());
    }
}
