package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nix/host.nix (flake nixosModules.host) evaluated by nix-instantiate with the stub nixpkgs and minimal
 * NixOS-module stubs (tests/nix/host-eval.nix) for three VMs: the config it defines equals the golden
 * src/test/resources/host/module-config.json (store hashes replaced by HASH); the unit packages it installs are
 * built (microforge units in a derivation) and every unit passes systemd-analyze verify under a root where the
 * Exec binaries exist.
 */
@Tag("oracle")
class HostModuleTest {
    static final Path ROOT = Tools.projectRoot();
    static final Path EVAL = ROOT.resolve("tests/nix/host-eval.nix");

    @TempDir
    Path tmp;

    @Test
    void moduleConfigMatchesGolden() throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        List<String> cmd = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", EVAL.toString(),
                "--argstr", "microforgeCommand", l.command().toString(), "--argstr", "microforgeVersion", l.version(),
                "-A", "config");
        Exec.Result r = Exec.run(cmd, null, null, 300).check(cmd);
        ObjectMapper m = new ObjectMapper();
        JsonNode config = m.readTree(r.out().replaceAll("/nix/store/[0-9a-z]{32}-", "/nix/store/HASH-"));
        String pretty = m.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n";
        Path golden = ROOT.resolve("src/test/resources/host/module-config.json");
        if (Boolean.getBoolean("microforge.updateGolden")) {
            Files.writeString(golden, pretty);
        }
        assertEquals(Files.readString(golden), pretty, "regenerate with -Dmicroforge.updateGolden=true if intended");

        List<String> opts = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", EVAL.toString(), "-A", "vmOptions");
        assertEquals("[\"autostart\",\"restartIfChanged\",\"spec\",\"storeDisk\"]", Exec.run(opts, null, null, 300).check(opts).out().strip());
    }

    @Test
    void installedUnitsPassSystemdAnalyzeVerify() throws Exception {
        Exec.Result b = NixTestSupport.nixBuild(EVAL, List.of("units"), List.of());
        assertEquals(0, b.exitCode(), b.stderr());
        List<String> outs = NixTestSupport.lines(b.stdout());
        assertEquals(3, outs.size(), b.out());
        Path root = tmp.resolve("root");
        Path etc = Files.createDirectories(root.resolve("etc/systemd/system"));
        Path lib = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
        for (String t : List.of("sysinit", "basic", "shutdown", "network", "local-fs", "multi-user")) {
            Files.writeString(lib.resolve(t + ".target"), "[Unit]\nDescription=" + t + "\n");
        }
        Files.writeString(lib.resolve("microforge-vms.target"), "[Unit]\nDescription=the module's target\n");
        List<String> names = new ArrayList<>();
        for (String out : outs) {
            try (Stream<Path> s = Files.list(Path.of(out, "lib/systemd/system"))) {
                for (Path u : s.sorted().toList()) {
                    Files.copy(u, etc.resolve(u.getFileName()));
                    names.add(u.getFileName().toString());
                    for (String line : Files.readAllLines(u)) {
                        if (line.startsWith("Exec")) {
                            String exe = line.substring(line.indexOf('=') + 1).replaceFirst("^-", "").split(" ")[0];
                            boolean runner = exe.startsWith("/var/lib/microforge/");
                            assertTrue(runner || Files.isExecutable(Path.of(exe)), "built and executable: " + exe);
                            Path p = root.resolve(exe.substring(1));
                            Files.createDirectories(p.getParent());
                            if (!Files.exists(p)) {
                                Files.writeString(p, "#!/bin/sh\n");
                                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                            }
                        }
                    }
                }
            }
        }
        assertTrue(names.contains("microforge-vm@web.service") && names.contains("microforge-virtiofsd-data.x@web.service")
                && names.contains("microforge-taps@db.service"), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.endsWith(".target")), "the target is the module's, not each VM's");
        List<String> cmd = new ArrayList<>(List.of(Tools.require("systemd-analyze").toString(), "verify", "--man=no", "--root=" + root));
        cmd.addAll(names);
        Exec.Result v = Exec.run(cmd, null, Map.of("SYSTEMD_LOG_COLOR", "0"), 120);
        assertEquals(0, v.exitCode(), v.stderr());
        assertEquals("", v.stderr().strip());
        String web = Files.readString(etc.resolve("microforge-virtiofsd-data.x@web.service"));
        assertTrue(web.contains("--shared-dir="), "nixpkgs' virtiofsd is the Rust one:\n" + web);
        String vm = Files.readString(etc.resolve("microforge-vm@web.service"));
        assertTrue(vm.matches("(?s).*Environment=\"PATH=[^\"]*-bash/bin\".*"), "bash on PATH for the runner's #!/usr/bin/env bash:\n" + vm);
    }

    /**
     * A VM name goes into unit names, tmpfiles lines and the units derivation's script: one outside VmSpec's NAME rule
     * fails the module's assertions at evaluation (as NixOS checks them before building) with the name in the message;
     * the three valid VMs pass.
     */
    @Test
    void badVmNameFailsAtEvaluation() throws Exception {
        String nixInstantiate = Tools.require("nix-instantiate").toString();
        List<String> ok = List.of(nixInstantiate, "--eval", "--strict", EVAL.toString(), "-A", "checked",
                "--arg", "extraVmNames", "[ \"ok_1.a-b\" ]");
        assertEquals("4", Exec.run(ok, null, null, 300).check(ok).out().strip());
        List<String> bad = List.of(nixInstantiate, "--eval", "--strict", EVAL.toString(), "-A", "checked",
                "--arg", "extraVmNames", "[ \"x;touch /tmp/pwned\" \"ok_1.a-b\" ]");
        Exec.Result r = Exec.run(bad, null, null, 300);
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("- microforge.vms.\"x;touch /tmp/pwned\": a VM name must match [A-Za-z0-9_][A-Za-z0-9._-]{0,62}"),
                r.stderr());
        assertTrue(!r.stderr().contains("ok_1.a-b"), r.stderr());
    }
}
