package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tests/install-deps.sh fails loudly (exit 1, the reason and apt's own error on stderr) when apt fails. */
class InstallDepsTest {
    @TempDir
    Path tmp;

    void fake(Path bin, String name, String script) throws Exception {
        Path f = Files.writeString(bin.resolve(name), "#!/bin/sh\n" + script);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void aFailingAptFailsTheScriptWithItsError() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        fake(bin, "dpkg-query", "exit 1\n"); // every package missing
        fake(bin, "apt-get", "case \"$1\" in update) exit 0;; esac\necho 'E: Unable to locate package nix-bin' >&2\nexit 100\n");
        fake(bin, "id", "echo 0\n"); // as root, so that the script goes on to apt-get
        Path script = Tools.projectRoot().resolve("tests/install-deps.sh");
        List<String> cmd = List.of(Tools.require("bash").toString(), script.toString());
        Exec.Result r = Exec.run(cmd, tmp, Map.of("PATH", bin + ":" + System.getenv("PATH"), "TMPDIR", tmp.toString()), 60);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("E: Unable to locate package nix-bin"), r.stderr());
        assertTrue(r.stderr().contains("tests/install-deps.sh: apt-get install nix-bin "), r.stderr());
        assertTrue(r.stderr().contains(" failed (full log: "), r.stderr());
        assertFalse(r.stderr().contains("not found after installing"), "stops at the apt failure: " + r.stderr());
    }

    @Test
    void missingPackagesWithoutRootIsAnError() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        fake(bin, "dpkg-query", "exit 1\n");
        fake(bin, "id", "echo 1000\n");
        fake(bin, "apt-get", "echo apt-get must not run >&2; exit 0\n");
        List<String> cmd = List.of(Tools.require("bash").toString(), Tools.projectRoot().resolve("tests/install-deps.sh").toString());
        Exec.Result r = Exec.run(cmd, tmp, Map.of("PATH", bin + ":" + System.getenv("PATH")), 60);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().startsWith("tests/install-deps.sh: missing packages nix-bin squashfs-tools "), r.stderr());
        assertFalse(r.stderr().contains("apt-get must not run"), r.stderr());
    }
}
