package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.Cli;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** microforge vm list on a fake root: running, outdated, stopped, a stale booted link from before the last boot. */
class VmListTest {
    @TempDir
    Path root;

    static final long BOOT = 1_700_000_000L;

    void vm(String name, String current, String booted, long bootedMtime) throws Exception {
        Path d = Files.createDirectories(root.resolve("var/lib/microforge/" + name));
        if (current != null) {
            Files.createSymbolicLink(d.resolve("current"), Path.of(current));
        }
        if (booted != null) {
            Path b = Files.createSymbolicLink(d.resolve("booted"), Path.of(booted));
            Files.getFileAttributeView(b, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.fromMillis(bootedMtime * 1000), null, null);
        }
    }

    @Test
    void listsStatesFromTheLinks() throws Exception {
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(root.resolve("proc/stat"), "cpu  1 2 3\nbtime " + BOOT + "\nprocesses 9\n");
        Files.createDirectories(root.resolve("nix/store/aaa-runner"));
        vm("web", "/nix/store/aaa-runner", "/nix/store/aaa-runner", BOOT + 60);
        vm("db", "/nix/store/bbb-runner-2", "/nix/store/bbb-runner-1", BOOT + 60);
        vm("idle", "/nix/store/ccc-runner", null, 0);
        vm("crashed", "/nix/store/ddd-runner", "/nix/store/ddd-runner", BOOT - 3600);
        // current through a chain of links: /var/lib/microforge/chain/current -> ../web/current -> the store path
        vm("chain", "../web/current", "/nix/store/aaa-runner", BOOT + 1);
        vm("not-a-vm", null, null, 0);
        Files.writeString(root.resolve("var/lib/microforge/file"), "x");

        Cli.Result r = Cli.run("vm", "list", "--root", root.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("""
                chain running /nix/store/aaa-runner
                crashed stopped /nix/store/ddd-runner
                db outdated /nix/store/bbb-runner-2 (running /nix/store/bbb-runner-1)
                idle stopped /nix/store/ccc-runner
                web running /nix/store/aaa-runner
                """, r.out());
        Cli.Result j = Cli.run("vm", "list", "--root", root.toString(), "--format", "json");
        assertEquals(0, j.exitCode(), j.err());
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(j.out());
        assertEquals(5, tree.size());
        assertEquals("db", tree.get(2).get("name").asText());
        assertEquals("outdated", tree.get(2).get("state").asText());
        assertEquals("/nix/store/bbb-runner-2", tree.get(2).get("current").asText());
        assertEquals("/nix/store/bbb-runner-1", tree.get(2).get("booted").asText());
        assertEquals(true, tree.get(3).get("booted").isNull());
    }

    @Test
    void missingStateDirectoryIsOneLineExit2() {
        Cli.Result r = Cli.run("vm", "list", "--root", root.toString(), "--state-dir", "/var/lib/nothing");
        assertEquals(2, r.exitCode());
        assertEquals("microforge: /var/lib/nothing: no such directory (no VM was installed here)\n", r.err());
    }

    /** vm list shows exactly the state directories named as a VM spec may be named (runner accepts the name). */
    @Test
    void listsTheNamesASpecAccepts(@TempDir Path tmp) throws Exception {
        java.util.List<String> names = java.util.List.of("a", "_x", "9.b-c", "v".repeat(63), "w".repeat(64), ".h", "-h", "a b",
                "caf\u00e9");
        StringBuilder accepted = new StringBuilder();
        for (String n : names) {
            vm(n, "/nix/store/aaa-runner", null, 0);
            Path spec = tmp.resolve("vm.json");
            Files.writeString(spec, "{\"name\":" + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(n)
                    + ",\"kernel\":\"/k\",\"storeOnDisk\":false}");
            Path out = tmp.resolve("runner");
            Cli.Result g = Cli.run("runner", "--spec", spec.toString(), "--microforge", "none", "-o", out.toString());
            assertEquals(g.exitCode() == 0 ? 0 : 2, g.exitCode(), g.err());
            if (g.exitCode() == 0) {
                accepted.append(n).append('\n');
            }
        }
        Cli.Result r = Cli.run("vm", "list", "--root", root.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.err());
        StringBuilder listed = new StringBuilder();
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out()).forEach(v -> listed.append(v.get("name").asText()).append('\n'));
        assertEquals("9.b-c\n_x\na\n" + "v".repeat(63) + "\n", listed.toString());
        assertEquals(java.util.Set.copyOf(accepted.toString().lines().toList()), java.util.Set.copyOf(listed.toString().lines().toList()));
    }

    @Test
    void controlBytesInLinkTargetsAreEscapedInText() throws Exception {
        vm("good", "/tmp/\u001b]0;T\u0007x", null, 0);
        Cli.Result r = Cli.run("vm", "list", "--root", root.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("good stopped /tmp/\\e]0;T\\x07x\n", r.out());
        Cli.Result j = Cli.run("vm", "list", "--root", root.toString(), "--format", "json");
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(j.out());
        assertEquals("/tmp/\u001b]0;T\u0007x", tree.get(0).get("current").asText());
    }
}
