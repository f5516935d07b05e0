package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The units' virtiofsd command line: every share option the runner honours (cache, posixAcl, readOnly,
 * inodeFileHandles, threadPoolSize, group, extraArgs), per virtiofsd style; the same argv as the runner's own
 * microvm_virtiofsd gives it (a stand-in virtiofsd records both); the real C virtiofsd accepts it; what the C
 * virtiofsd cannot do (read-only) is refused, by the units and by microvm-run.
 */
class VirtiofsdArgsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static ObjectNode spec(String virtiofsdPath, boolean readOnly, String cache) {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("name", "vf").put("hypervisor", "qemu").put("mem", 256).put("kernel", "/k").put("storeOnDisk", false);
        ObjectNode sh = spec.putArray("shares").addObject();
        sh.put("proto", "virtiofs").put("tag", "a").put("source", "src").put("mountPoint", "/a").put("readOnly", readOnly)
                .put("cache", cache).put("posixAcl", true);
        sh.putArray("extraArgs").add("--thread-pool-size=3");
        ObjectNode d = spec.putObject("virtiofsd");
        d.put("threadPoolSize", 2).put("group", "root");
        if (virtiofsdPath != null) {
            d.put("path", virtiofsdPath);
        }
        return spec;
    }

    static VmSpec parse(ObjectNode spec) throws Exception {
        return VmSpecReader.parse(JSON.writeValueAsBytes(spec), "vm.json", Events.NONE);
    }

    static List<String> execStart(ObjectNode spec, Units.Options o) throws Exception {
        Map<String, byte[]> units = Units.generate(parse(spec), JSON.writeValueAsBytes(spec), Accel.TCG, o, Events.NONE);
        UnitsSequenceTest.UnitFile u = UnitsSequenceTest.UnitFile.parse(units.get(Units.virtiofsdUnit("vf", "a")));
        return UnitsSequenceTest.ExecLine.parse(u.all("ExecStart").get(0)).argv();
    }

    static Units.Options options(Path state, String virtiofsd, String style) {
        return new Units.Options("/var/lib/microforge/vf/current", state.toString(), "/sbin/ip", virtiofsd, style, "/bin/sh", null);
    }

    @Test
    void readOnlyNeverShareGetsItsFlagsInBothStyles() throws Exception {
        Path state = tmp.resolve("state");
        String sock = state + "/vf-virtiofs-a.sock";
        String src = state + "/src";
        // Rust: every option
        assertEquals(List.of("/usr/bin/virtiofsd", "--socket-path=" + sock, "--shared-dir=" + src, "--cache=never",
                "--sandbox=chroot", "--posix-acl", "--xattr", "--readonly", "--thread-pool-size=2", "--socket-group=root",
                "--thread-pool-size=3"), execStart(spec(null, true, "never"), options(state, "/usr/bin/virtiofsd", null)));
        // C: cache never is none; no read-only mode, so a readOnly share is refused naming the field
        assertEquals(List.of(Units.DEFAULT_VIRTIOFSD, "--socket-path=" + sock, "-o", "source=" + src, "-o", "cache=none",
                "-o", "sandbox=chroot", "-o", "posix_acl", "-o", "xattr", "--thread-pool-size=2", "--socket-group=root",
                "--thread-pool-size=3"), execStart(spec(null, false, "never"), options(state, Units.DEFAULT_VIRTIOFSD, null)));
        UserError e = assertThrows(UserError.class,
                () -> execStart(spec(null, true, "never"), options(state, Units.DEFAULT_VIRTIOFSD, null)));
        assertTrue(e.getMessage().startsWith("shares[0].readOnly: QEMU's C virtiofsd has no read-only mode"), e.getMessage());
        assertThrows(UserError.class, () -> execStart(spec(null, false, "metadata"), options(state, Units.DEFAULT_VIRTIOFSD, null)));
    }

    /** --virtiofsd-style describes --virtiofsd; the spec's own virtiofsd.path keeps the default rule. */
    @Test
    void styleOptionDoesNotApplyToTheSpecsOwnVirtiofsd() throws Exception {
        Path state = tmp.resolve("state");
        List<String> c = execStart(spec(Units.DEFAULT_VIRTIOFSD, false, "auto"), options(state, "/usr/bin/virtiofsd", "rust"));
        assertEquals(Units.DEFAULT_VIRTIOFSD, c.get(0));
        assertTrue(c.contains("source=" + state + "/src"), c.toString());
        List<String> rust = execStart(spec("/opt/vfsd/bin/virtiofsd", false, "auto"), options(state, Units.DEFAULT_VIRTIOFSD, "c"));
        assertTrue(rust.contains("--shared-dir=" + state + "/src"), rust.toString());
    }

    @Test
    void unitsCommandRefusesAReadOnlyShareForTheCVirtiofsd() throws Exception {
        Path spec = tmp.resolve("vm.json");
        Files.write(spec, JSON.writeValueAsBytes(spec(null, true, "auto")));
        Path out = tmp.resolve("units");
        Cli.Result r = Cli.run("units", "--spec", spec.toString(), "--runner", "/var/lib/microforge/vf/current", "-o", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("microforge: " + spec + ": shares[0].readOnly: "), r.err());
        assertFalse(Files.exists(out), "nothing written");
        r = Cli.run("units", "--spec", spec.toString(), "--runner", "/var/lib/microforge/vf/current", "-o", out.toString(),
                "--virtiofsd-style", "rust");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.readString(out.resolve("microforge-virtiofsd-a@vf.service")).contains(" --readonly "));
    }

    /** The real C virtiofsd (qemu 7.2) takes the generated command line and serves its socket. */
    @Test
    @Tag("oracle")
    @Tag("root")
    void realCVirtiofsdAcceptsTheUnitsArguments() throws Exception {
        Tools.requireRoot("virtiofsd's chroot sandbox");
        Tools.require(Units.DEFAULT_VIRTIOFSD);
        Path state = Files.createDirectories(tmp.resolve("state"));
        Files.createDirectories(state.resolve("src"));
        ObjectNode s = spec(null, false, "never");
        ((ObjectNode) s.get("shares").get(0)).putArray("extraArgs").add("-o").add("announce_submounts");
        VmSpec vm = parse(s);
        Map<String, byte[]> units = Units.generate(vm, JSON.writeValueAsBytes(s), Accel.TCG, options(state, Units.DEFAULT_VIRTIOFSD, null), Events.NONE);
        UnitsSequenceTest.UnitFile u = UnitsSequenceTest.UnitFile.parse(units.get(Units.virtiofsdUnit("vf", "a")));
        Path log = tmp.resolve("log");
        Process p = u.start("ExecStart", log);
        try {
            UnitsSequenceTest.waitFor(() -> Files.exists(state.resolve("vf-virtiofs-a.sock")) || !p.isAlive(), 20, "the socket", log);
            assertTrue(p.isAlive(), "virtiofsd exited:\n" + Files.readString(log));
            assertTrue(Files.readString(log).contains("Waiting for vhost-user socket connection"), Files.readString(log));
        } finally {
            p.destroy();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "virtiofsd stops on SIGTERM");
        }
    }

    /**
     * microvm-run's own microvm_virtiofsd (run as root, as the units run virtiofsd) gives a stand-in virtiofsd of
     * either style the argv the units give it; for the C style a readOnly share fails microvm-run, as it fails units.
     */
    @Test
    @Tag("root")
    void runnerShellFunctionAgreesWithTheUnits() throws Exception {
        Tools.requireRoot("microvm-run picks the chroot sandbox as root");
        Tools.require("socat");
        for (String style : List.of("rust", "c")) {
            for (boolean ro : List.of(false, true)) {
                Path dir = Files.createDirectories(tmp.resolve(style + ro));
                Path work = Files.createDirectories(dir.resolve("work"));
                Files.createDirectories(work.resolve("src"));
                Files.write(work.resolve("k"), new byte[16]);
                Path bin = Files.createDirectories(dir.resolve("bin"));
                Path vfsd = bin.resolve("virtiofsd");
                script(vfsd, "#!/bin/bash\n"
                        + "if [ \"$1\" = --help ]; then " + (style.equals("rust") ? "echo '  --shared-dir <dir>'; " : "") + "exit 0; fi\n"
                        + "for a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"" + dir.resolve("argv") + "\"\n"
                        + "for a in \"$@\"; do case \"$a\" in --socket-path=*) sock=${a#--socket-path=} ;; esac; done\n"
                        + "exec socat UNIX-LISTEN:\"$sock\" /dev/null\n");
                script(bin.resolve("qemu-system-x86_64"), "#!/bin/sh\nexit 0\n");
                ObjectNode s = spec(vfsd.toString(), ro, "never");
                s.put("kernel", "k");
                byte[] bytes = JSON.writeValueAsBytes(s);
                VmSpec vm = parse(s);
                Path runner = dir.resolve("runner");
                Runner.write(Runner.generate(vm, bytes, new Runner.Options(Accel.TCG, List.of()), Events.NONE), runner);
                ProcessBuilder pb = new ProcessBuilder(runner.resolve("bin/microvm-run").toString()).directory(work.toFile())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile());
                pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
                pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
                Process p = pb.start();
                p.getOutputStream().close();
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), "microvm-run hangs");
                String log = Files.readString(dir.resolve("log"));
                Share share = vm.shares().get(0);
                String sock = work.resolve(share.socket()).toString();
                String src = work.resolve("src").toString();
                if (style.equals("c") && ro) {
                    assertEquals(1, p.exitValue(), log);
                    assertTrue(log.contains("a readOnly share needs the Rust virtiofsd"), log);
                    assertFalse(Files.exists(dir.resolve("argv")), "no virtiofsd started");
                    assertThrows(UserError.class, () -> VirtiofsdArgs.of(style, "shares[0]", sock, src, share, vm.virtiofsd()));
                    continue;
                }
                assertEquals(0, p.exitValue(), log);
                String all = Files.readString(dir.resolve("argv"), StandardCharsets.UTF_8);
                List<String> argv = new ArrayList<>(List.of(all.split("\0", -1)));
                argv.remove(argv.size() - 1);
                assertEquals(VirtiofsdArgs.of(style, "shares[0]", sock, src, share, vm.virtiofsd()), argv, style + " readOnly=" + ro);
            }
        }
    }

    /** The units give virtiofsd an absolute socket path: longer than sun_path's 107 bytes is refused at generation. */
    @Test
    @Tag("oracle")
    void aSocketPathLongerThanASocketAddressIsRefused() throws Exception {
        String stateDir = Files.createDirectories(tmp.resolve("st")).toString();
        ObjectNode s = spec(null, false, "auto");
        // stateDir + "/" + socket: exactly 107 bytes binds, 108 cannot
        String fits = "s".repeat(107 - stateDir.length() - 1 - 5) + ".sock";
        ((ObjectNode) s.get("shares").get(0)).put("socket", fits);
        List<String> argv = execStart(s, options(Path.of(stateDir), Units.DEFAULT_VIRTIOFSD, null));
        assertEquals("--socket-path=" + stateDir + "/" + fits, argv.get(1));
        assertEquals(107, argv.get(1).length() - "--socket-path=".length());
        // the oracle: the real C virtiofsd binds 107 bytes and refuses 108
        {
            Tools.require(Units.DEFAULT_VIRTIOFSD);
            Path src = Files.createDirectories(tmp.resolve("src"));
            for (String sock : List.of(stateDir + "/" + fits, stateDir + "/s" + fits)) {
                Process p = new ProcessBuilder(Units.DEFAULT_VIRTIOFSD, "--socket-path=" + sock, "-o", "source=" + src)
                        .redirectErrorStream(true).redirectOutput(tmp.resolve("vlog").toFile()).start();
                try {
                    UnitsSequenceTest.waitFor(() -> Files.exists(Path.of(sock)) || !p.isAlive(), 20, "virtiofsd", tmp.resolve("vlog"));
                    assertEquals(sock.length() <= 107, Files.exists(Path.of(sock)), sock.length() + " bytes: " + Files.readString(tmp.resolve("vlog")));
                } finally {
                    p.destroy();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        ((ObjectNode) s.get("shares").get(0)).put("socket", "s" + fits);
        UserError e = assertThrows(UserError.class, () -> execStart(s, options(Path.of(stateDir), Units.DEFAULT_VIRTIOFSD, null)));
        assertEquals("shares[0].socket: share a: the virtiofsd socket '" + stateDir + "/s" + fits + "' is 108 bytes, more than"
                + " the 107 a unix socket address holds; use a shorter socket or --state-dir", e.getMessage());

        Path spec = tmp.resolve("vm.json");
        Files.write(spec, JSON.writeValueAsBytes(s));
        Path out = tmp.resolve("units");
        Cli.Result r = Cli.run("units", "--spec", spec.toString(), "--runner", "/var/lib/microforge/vf/current",
                "--state-dir", stateDir, "-o", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("microforge: " + spec + ": " + e.getMessage() + "\n", r.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    static void script(Path p, String text) throws Exception {
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
