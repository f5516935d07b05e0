package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the generated units' commands in the order and the way systemd would: the tap unit's ExecStartPre/ExecStart,
 * the virtiofsd unit (real /usr/lib/qemu/virtiofsd, a source path with spaces, quotes, '%', '$' and ';'), then the VM
 * unit's ExecStartPre and ExecStart (the real generated microvm-run, in MICROVM_VIRTIOFSD_EXTERNAL mode) as main
 * process; to stop: ExecStop (the real microvm-shutdown, over QMP), the main process must exit by itself, ExecStopPost,
 * then the virtiofsd unit is killed and the tap unit's ExecStop runs. Each command line is split by {@link ExecLine}
 * (systemd.syntax(7): quotes, C escapes, %% and $$), runs with stdin /dev/null, the unit's WorkingDirectory and only the
 * environment systemd gives a system service plus the unit's Environment= lines.
 * The hypervisor is a fake qemu-system-x86_64 that records its argv and speaks enough QMP to take the shutdown
 * request (a real TCG boot is not part of this test); the tap interface is real (root), its flags read back from sysfs.
 */
@Tag("oracle")
@Tag("root")
class UnitsSequenceTest {
    @TempDir
    Path tmp;

    static final String NASTY = "src dir 'q' \"dq\" 100% $HOME ;semi \\bs";

    @Test
    void startAndStopLikeSystemd() throws Exception {
        Tools.requireRoot("creates a tap interface");
        Tools.require("socat");
        Tools.require("/usr/lib/qemu/virtiofsd");
        Path fakebin = Files.createDirectories(tmp.resolve("fakebin"));
        Path handler = fakebin.resolve("qmp-handler");
        script(handler, """
                #!/bin/bash
                echo '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}'
                while IFS= read -r line; do
                  printf '%s\\n' "$line" >> qmp.log
                  case "$line" in
                    *qmp_capabilities*) echo '{"return": {}}' ;;
                    *system_powerdown*) echo '{"return": {}}'; exit 0 ;;
                    *) echo '{"error": {"class": "CommandNotFound", "desc": "not in this stub"}}' ;;
                  esac
                done
                """);
        script(fakebin.resolve("qemu-system-x86_64"), """
                #!/bin/bash
                for a in "$@"; do printf '%s\\0' "$a"; done > argv.part && mv argv.part argv
                sock=
                for a in "$@"; do
                  case "$a" in socket,id=qmp,path=*) sock=${a#socket,id=qmp,path=}; sock=${sock%,server=on,wait=off} ;; esac
                done
                exec socat UNIX-LISTEN:"$sock" EXEC:""" + handler + "\n");

        String tap = "mfs" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        Path src = Files.createDirectories(tmp.resolve(NASTY));
        ObjectNode spec = new ObjectMapper().createObjectNode();
        // a file the preflight takes for a bzImage (boot sector signature, "HdrS" at 0x202): microvm-run runs the preflight
        byte[] header = new byte[1024];
        header[0x1fe] = 0x55;
        header[0x1ff] = (byte) 0xaa;
        System.arraycopy("HdrS".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, header, 0x202, 4);
        Path kernel = Files.write(tmp.resolve("bzImage"), header);
        spec.put("name", "seq").put("hypervisor", "qemu").put("vcpu", 2).put("mem", 256).put("kernel", kernel.toString()).put("storeOnDisk", false);
        spec.putArray("shares").addObject().put("proto", "virtiofs").put("tag", "vfs").put("source", src.toString()).put("mountPoint", "/v");
        spec.putArray("interfaces").addObject().put("type", "tap").put("id", tap);
        spec.put("socket", "seq.sock");
        byte[] bytes = new ObjectMapper().writeValueAsBytes(spec);
        VmSpec vm = VmSpecReader.parse(bytes, "vm.json", Events.NONE);

        Path runner = tmp.resolve("runner");
        // with microforge's preflight, as `microforge runner` and lib.mkRunner write runners
        List<String> preflight = List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), dev.microforge.cli.Main.class.getName());
        Runner.write(Runner.generate(vm, bytes, new Runner.Options(Accel.TCG, preflight), Events.NONE), runner);
        Path state = Files.createDirectories(tmp.resolve("vms/seq"));
        Files.createSymbolicLink(state.resolve("current"), runner);
        Units.Options o = new Units.Options(state.resolve("current").toString(), state.toString(), "/sbin/ip",
                Units.DEFAULT_VIRTIOFSD, null, "/bin/sh", fakebin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        Map<String, byte[]> units = Units.generate(vm, bytes, Accel.TCG, o, Events.NONE);
        UnitFile taps = UnitFile.parse(units.get(Units.tapsUnit("seq")));
        UnitFile vfsd = UnitFile.parse(units.get(Units.virtiofsdUnit("seq", "vfs")));
        UnitFile vmu = UnitFile.parse(units.get(Units.vmUnit("seq")));
        Path log = tmp.resolve("log");
        Process virtiofsd = null;
        Process main = null;
        try {
            // start: dependencies first (the VM is After= its taps and virtiofsd)
            taps.runAll("ExecStartPre", log);
            taps.runAll("ExecStart", log);
            String flags = Files.readString(Path.of("/sys/class/net/" + tap + "/tun_flags")).strip();
            int f = Integer.decode(flags);
            assertEquals(0x2, f & 0x3, "IFF_TAP: " + flags);
            assertTrue((f & 0x4000) != 0, "IFF_VNET_HDR, as microvm-run's tap-flags says: " + flags);
            assertTrue((f & 0x100) != 0, "IFF_MULTI_QUEUE for vcpu 2 (qemu queues=2): " + flags);

            vfsd.runAll("ExecStartPre", log);
            virtiofsd = vfsd.start("ExecStart", log);
            vmu.runAll("ExecStartPre", log);
            main = vmu.start("ExecStart", log);
            Path argv = state.resolve("argv");
            waitFor(() -> Files.exists(argv), 30, "the hypervisor to start", log);
            assertEquals(runner.toRealPath(), state.resolve("booted").toRealPath(), "booted names the runner that was started");
            assertEquals(List.of(new VmList.Vm("seq", VmList.State.running, runner.toRealPath().toString(), runner.toRealPath().toString())),
                    VmList.list(Path.of("/"), tmp.resolve("vms").toString()), "vm list while it runs");
            String args = Files.readString(argv);
            assertTrue(args.contains("socket,id=fs0,path=seq-virtiofs-vfs.sock\0"), args);
            assertTrue(Files.exists(state.resolve("seq-virtiofs-vfs.sock")), "virtiofsd of the unit made the socket");
            Process m = main;
            assertTrue(m.descendants().noneMatch(p -> p.info().command().orElse("").endsWith("virtiofsd")),
                    "microvm-run started no virtiofsd of its own");
            assertTrue(virtiofsd.isAlive(), Files.readString(log));

            // stop: ExecStop, the main process ends by itself, ExecStopPost; then the units the VM was After=
            vmu.runAll("ExecStop", log);
            assertTrue(main.waitFor(30, TimeUnit.SECONDS), "the VM did not stop after ExecStop\n" + Files.readString(log));
            assertEquals(0, main.exitValue(), Files.readString(log));
            String qmp = Files.readString(state.resolve("qmp.log"));
            assertTrue(qmp.contains("\"system_powerdown\""), "microvm-shutdown presses the ACPI power button: " + qmp);
            assertFalse(qmp.contains("send-key"), "no ctrl-alt-del: " + qmp);
            vmu.runAll("ExecStopPost", log);
            assertFalse(Files.exists(state.resolve("booted"), java.nio.file.LinkOption.NOFOLLOW_LINKS), "booted removed at stop");
            assertEquals(VmList.State.stopped, VmList.list(Path.of("/"), tmp.resolve("vms").toString()).get(0).state(), "vm list after stop");
            kill(virtiofsd);
            assertTrue(virtiofsd.waitFor(10, TimeUnit.SECONDS), "virtiofsd stops on SIGTERM");
            taps.runAll("ExecStop", log);
            assertFalse(Files.exists(Path.of("/sys/class/net/" + tap)), "the tap is gone after its unit stopped");
            String all = Files.readString(log);
            assertTrue(all.contains("Waiting for vhost-user socket connection"), "virtiofsd ran on the nasty source:\n" + all);
        } finally {
            for (Process p : new Process[] {main, virtiofsd}) {
                if (p != null && p.isAlive()) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
            new ProcessBuilder("/sbin/ip", "link", "delete", tap).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static void kill(Process p) {
        // KillMode=control-group: SIGTERM to every process of the unit
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
    }

    interface Cond {
        boolean ok() throws Exception;
    }

    static void waitFor(Cond c, int seconds, String what, Path log) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!c.ok()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what + "\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
    }

    static void script(Path p, String text) throws Exception {
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** One parsed unit file: settings of [Service] in order. */
    record UnitFile(List<String[]> service) {
        static UnitFile parse(byte[] b) {
            List<String[]> s = new ArrayList<>();
            String section = "";
            for (String line : new String(b, StandardCharsets.UTF_8).split("\n")) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                if (line.startsWith("[")) {
                    section = line;
                    continue;
                }
                int eq = line.indexOf('=');
                if (section.equals("[Service]")) {
                    s.add(new String[] {line.substring(0, eq), line.substring(eq + 1)});
                }
            }
            return new UnitFile(s);
        }

        List<String> all(String key) {
            return service.stream().filter(x -> x[0].equals(key)).map(x -> x[1]).toList();
        }

        ProcessBuilder builder(String line, Path log) {
            ExecLine e = ExecLine.parse(line);
            ProcessBuilder pb = new ProcessBuilder(e.argv());
            pb.environment().clear();
            // what systemd 252 gives a system service, then the unit's Environment=
            pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("INVOCATION_ID", UUID.randomUUID().toString().replace("-", ""));
            for (String env : all("Environment")) {
                String kv = ExecLine.words(env, false).get(0);
                int eq = kv.indexOf('=');
                pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
            }
            String wd = all("WorkingDirectory").isEmpty() ? "/" : all("WorkingDirectory").get(0);
            pb.directory(new File(wd.replace("%%", "%")));
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return pb;
        }

        void runAll(String key, Path log) throws Exception {
            for (String line : all(key)) {
                ExecLine e = ExecLine.parse(line);
                Process p = builder(line, log).start();
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), key + " hangs: " + line);
                if (!e.ignoreFailure()) {
                    assertEquals(0, p.exitValue(), key + "=" + line + " failed:\n" + Files.readString(log));
                }
            }
        }

        Process start(String key, Path log) throws Exception {
            List<String> l = all(key);
            assertEquals(1, l.size(), key);
            return builder(l.get(0), log).start();
        }
    }

    /** A command line split as systemd.syntax(7) and systemd.service(5) say (only what the generator may emit). */
    record ExecLine(boolean ignoreFailure, List<String> argv) {
        static ExecLine parse(String line) {
            boolean ignore = line.startsWith("-");
            List<String> w = words(ignore ? line.substring(1) : line, true);
            return new ExecLine(ignore, w);
        }

        static List<String> words(String s, boolean dollar) {
            List<String> out = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && s.charAt(i) == ' ') {
                    i++;
                }
                if (i >= s.length()) {
                    break;
                }
                StringBuilder w = new StringBuilder();
                boolean quoted = false;
                while (i < s.length() && (quoted || s.charAt(i) != ' ')) {
                    char c = s.charAt(i++);
                    if (c == '"') {
                        quoted = !quoted;
                    } else if (c == '\\') {
                        char n = s.charAt(i++);
                        switch (n) {
                            case '\\', '"', '\'' -> w.append(n);
                            case 'n' -> w.append('\n');
                            case 'x' -> {
                                w.append((char) Integer.parseInt(s.substring(i, i + 2), 16));
                                i += 2;
                            }
                            default -> throw new AssertionError("escape \\" + n + " in " + s);
                        }
                    } else if (c == '%') {
                        assertEquals('%', s.charAt(i++), "only %% is emitted: " + s);
                        w.append('%');
                    } else if (c == '$' && dollar) {
                        assertEquals('$', s.charAt(i++), "only $$ is emitted: " + s);
                        w.append('$');
                    } else {
                        w.append(c);
                    }
                }
                assertFalse(quoted, "unbalanced quotes: " + s);
                out.add(w.toString());
            }
            return out;
        }
    }

}
