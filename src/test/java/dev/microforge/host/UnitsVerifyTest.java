package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.runner.Runner;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every generated unit passes {@code systemd-analyze verify} (systemd 252, offline: SYSTEMD_UNIT_PATH names the unit
 * directory, no manager needed): syntax, quoting, dependency names, and that each Exec binary exists and is
 * executable, so the units point at a real runner directory and a real state directory with its booted link.
 */
@Tag("oracle")
class UnitsVerifyTest {
    @TempDir
    Path tmp;

    static Exec.Result verify(Path unitDir, List<Path> units) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("systemd-analyze").toString(), "verify", "--man=no"));
        for (Path u : units) {
            cmd.add(u.toString());
        }
        return Exec.run(cmd, unitDir, Map.of("SYSTEMD_UNIT_PATH", unitDir + ":", "SYSTEMD_LOG_COLOR", "0"), 120);
    }

    /** Writes a real runner and the units pointing at it; returns the unit directory. */
    Path setUp(String c) throws Exception {
        byte[] bytes = Files.readAllBytes(UnitsGoldenTest.specFile(c));
        VmSpec spec = VmSpecReader.parse(bytes, c + ".json", Events.NONE);
        Path runner = tmp.resolve("runner");
        Runner.write(Runner.generate(spec, bytes, new Runner.Options(UnitsGoldenTest.accel(c), List.of()), Events.NONE), runner);
        Path state = Files.createDirectories(tmp.resolve("state"));
        Files.createSymbolicLink(state.resolve("booted"), runner);
        Units.Options o = new Units.Options(runner.toString(), state.toString(), "/sbin/ip", Units.DEFAULT_VIRTIOFSD, null,
                "/bin/sh", null);
        Path units = tmp.resolve("units");
        Runner.write(Units.generate(spec, bytes, UnitsGoldenTest.accel(c), o, Events.NONE), units);
        return units;
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu", "cloud-hypervisor", "firecracker", "crosvm", "kvmtool", "tricky"})
    void everyUnitPassesSystemdAnalyzeVerify(String c) throws Exception {
        Tools.require("/usr/lib/qemu/virtiofsd");
        Path units = setUp(c);
        List<Path> all;
        try (var s = Files.list(units)) {
            all = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList(); // not -o's marker
        }
        assertTrue(all.size() >= 3, "units written: " + all);
        Exec.Result r = verify(units, all);
        assertEquals(0, r.exitCode(), c + ": systemd-analyze verify failed:\n" + r.stderr() + r.out());
        assertEquals("", r.stderr().strip(), c + ": systemd-analyze verify warned");
    }

    /** The oracle is not blind: a unit whose ExecStart binary is missing, or whose quoting is broken, fails. */
    @Test
    void verifyRejectsBrokenUnits() throws Exception {
        Path units = setUp("qemu");
        Path vm = units.resolve("microforge-vm@demo.service");
        String text = Files.readString(vm);
        Files.writeString(vm, text.replace("/bin/microvm-run", "/bin/microvm-run-missing"));
        assertNotEquals(0, verify(units, List.of(vm)).exitCode(), "missing ExecStart binary");
        Files.writeString(vm, text.replace("ExecStopPost=/bin/sh -c \"rm -f booted\"", "ExecStopPost=/bin/sh -c \"rm -f booted"));
        Exec.Result r = verify(units, List.of(vm));
        assertNotEquals(0, r.exitCode(), "unbalanced quoting");
        Files.writeString(vm, text);
        assertEquals(0, verify(units, List.of(vm)).exitCode(), "the unchanged unit passes");
    }
}
