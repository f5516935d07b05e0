package dev.microforge.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden unit files for every hypervisor's golden spec (src/test/resources/runner/golden/H.json: taps, macvtaps,
 * bridges, virtiofs and 9p shares where the hypervisor has them) and a spec with values that need escaping
 * (host/tricky.json), and shares using every virtiofsd option under the Rust virtiofsd (host/rust.json). Regenerate with -Dmicroforge.updateGolden=true and review the diff.
 */
class UnitsGoldenTest {
    static final Path RES = Tools.projectRoot().resolve("src/test/resources");

    static final String[] CASES = {"qemu", "cloud-hypervisor", "firecracker", "crosvm", "kvmtool", "tricky", "rust"};

    static Path specFile(String c) {
        return c.equals("tricky") || c.equals("rust") ? RES.resolve("host/" + c + ".json") : RES.resolve("runner/golden/" + c + ".json");
    }

    /** The Rust virtiofsd case runs virtiofsd from another path (rust style by default); the others the defaults. */
    static Units.Options options(String c, String name) {
        Units.Options d = Units.Options.defaults("/var/lib/microforge/" + name + "/current", name);
        return c.equals("rust") ? new Units.Options(d.runnerDir(), d.stateDir(), d.ip(), "/usr/bin/virtiofsd", null, d.shell(), d.path()) : d;
    }

    static Accel accel(String c) {
        return c.equals("qemu") || c.equals("tricky") || c.equals("rust") ? Accel.AUTO : Accel.KVM;
    }

    static Map<String, byte[]> generate(String c, Units.Options o) throws IOException {
        byte[] bytes = Files.readAllBytes(specFile(c));
        VmSpec spec = VmSpecReader.parse(bytes, c + ".json", Events.NONE);
        return Units.generate(spec, bytes, accel(c), o, Events.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu", "cloud-hypervisor", "firecracker", "crosvm", "kvmtool", "tricky", "rust"})
    void unitsMatchGoldenFiles(String c) throws IOException {
        byte[] bytes = Files.readAllBytes(specFile(c));
        String name = VmSpecReader.parse(bytes, c + ".json", Events.NONE).name();
        Units.Options o = options(c, name);
        Map<String, byte[]> files = generate(c, o);
        Path dir = RES.resolve("host/golden/" + c);
        if (Boolean.getBoolean("microforge.updateGolden")) {
            Runner.write(files, dir);
        }
        TreeSet<String> golden = new TreeSet<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> golden.add(p.getFileName().toString()));
        }
        assertEquals(golden, new TreeSet<>(files.keySet()), c + ": the set of unit files");
        for (var e : files.entrySet()) {
            assertEquals(Files.readString(dir.resolve(e.getKey())), new String(e.getValue(), StandardCharsets.UTF_8),
                    c + ": " + e.getKey() + " differs from the golden file (regenerate with -Dmicroforge.updateGolden=true if intended)");
        }
        Map<String, byte[]> again = generate(c, o);
        for (var e : files.entrySet()) {
            assertArrayEquals(e.getValue(), again.get(e.getKey()), "deterministic: " + e.getKey());
        }
    }
}
