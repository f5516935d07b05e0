package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** nix/, flake.nix and the stub-built derivations, against the real Nix 2.8. */
@Tag("oracle")
class NixIntegrationOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Tools.projectRoot();
    static final Path BUILD = ROOT.resolve("tests/nix/build.nix");

    @Test
    void everyNixFileParses() throws Exception {
        Path nix = Tools.require("nix-instantiate");
        List<Path> files;
        try (Stream<Path> s = Files.walk(ROOT)) {
            files = s.filter(p -> p.toString().endsWith(".nix"))
                    .filter(p -> !ROOT.relativize(p).startsWith("target") && !ROOT.relativize(p).startsWith(".git"))
                    .sorted().toList();
        }
        assertTrue(files.contains(ROOT.resolve("flake.nix")), files.toString());
        assertTrue(files.contains(ROOT.resolve("nix/lib.nix")), files.toString());
        assertTrue(files.contains(ROOT.resolve("nix/package.nix")), files.toString());
        for (Path f : files) {
            List<String> cmd = List.of(nix.toString(), "--parse", f.toString());
            Exec.Result r = Exec.run(cmd, null, null, 60);
            assertEquals(0, r.exitCode(), f + " does not parse:\n" + r.stderr());
        }
    }

    @Test
    void flakeOutputsEvaluateWithTheStubNixpkgs() throws Exception {
        Path nix = Tools.require("nix-instantiate");
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        String expr = """
                let
                  s = import %s { microforgeCommand = "%s"; };
                  sys = "x86_64-linux";
                in
                {
                  packages = builtins.attrNames s.packages.${sys};
                  packagesArm = builtins.attrNames s.packages.aarch64-linux;
                  packageName = s.packages.${sys}.default.name;
                  mainProgram = s.packages.${sys}.default.meta.mainProgram;
                  app = s.apps.${sys}.default;
                  lib = builtins.attrNames s.lib;
                  checks = builtins.attrNames s.checks.${sys};
                  checkDrvs = map (n: s.checks.${sys}.${n}.drvPath) (builtins.attrNames s.checks.${sys});
                  guest = builtins.typeOf s.nixosModules.guest;
                  example = s.nixosConfigurations.example.config.system.build.toplevel.drvPath;
                  # every check is a derivation (nix flake check insists), store disks included
                  checkTypes = map (n: s.checks.${sys}.${n}.type) (builtins.attrNames s.checks.${sys});
                  diskType = s.checks.${sys}.example-vm-store-disk.storeDiskType;
                }
                """.formatted(ROOT.resolve("tests/nix/flake-eval.nix"), l.command());
        List<String> cmd = List.of(nix.toString(), "--eval", "--strict", "--json", "--expr", expr);
        Exec.Result r = Exec.run(cmd, null, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode v = JSON.readTree(r.stdout());
        assertEquals("[\"default\",\"microforge\"]", v.get("packages").toString());
        assertEquals(v.get("packages"), v.get("packagesArm"));
        assertEquals("microforge-0.1.0", v.get("packageName").asText());
        assertEquals("microforge", v.get("mainProgram").asText());
        assertEquals("app", v.get("app").get("type").asText());
        assertTrue(v.get("app").get("program").asText().matches("/nix/store/[0-9a-z]{32}-microforge-0\\.1\\.0/bin/microforge"), v.toString());
        for (String f : List.of("mkStoreDisk", "mkRunner", "mkMicroVM", "auditClosure", "guestModule")) {
            assertTrue(v.get("lib").toString().contains("\"" + f + "\""), f + " missing from lib: " + v.get("lib"));
        }
        assertEquals("[\"example-vm-closure\",\"example-vm-store-disk\",\"package\"]", v.get("checks").toString());
        v.get("checkDrvs").forEach(d -> assertTrue(d.asText().endsWith(".drv"), d.toString()));
        assertEquals("path", v.get("guest").asText());
        assertTrue(v.get("example").asText().endsWith("-nixos-system-example-24.11.drv"));
        v.get("checkTypes").forEach(t -> assertEquals("derivation", t.asText(), v.toString()));
        assertEquals("erofs", v.get("diskType").asText());
    }

    @Test
    void flakeChecksBuild() throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(ROOT.resolve("tests/nix/flake-eval.nix"),
                List.of("checks.x86_64-linux.example-vm-closure", "checks.x86_64-linux.example-vm-store-disk"),
                // the checks run the flake's package: nix/package.nix built from the lock
                NixTestSupport.packageArgs());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        String report = Files.readString(Path.of(outs.get(0)).resolve("report.txt"));
        assertTrue(report.contains("nixos-system-example-24.11") && report.contains("result: ok"), report);
        // the example VM's store disk: erofs (the default), reference-free
        assertTrue(outs.get(1).endsWith("-nix-store.erofs"), outs.toString());
        assertEquals(List.of(), references(outs.get(1)));
    }

    @Test
    void auditClosureFailsOverBudgetAndPassesWithin() throws Exception {
        Exec.Result ok = NixTestSupport.nixBuild(BUILD, List.of("audit-large-enough", "audit-structured"), List.of());
        assertEquals(0, ok.exitCode(), ok.stderr());
        List<String> outs = NixTestSupport.lines(ok.stdout());
        assertEquals(2, outs.size(), outs.toString());
        for (String o : outs) {
            String report = Files.readString(Path.of(o, "report.txt"));
            assertTrue(report.contains("closure: 4 paths") && report.contains("result: ok"), report);
        }
        // the plain (exportReferencesGraph text) and structured (path-info JSON) forms agree
        assertEquals(Files.readString(Path.of(outs.get(0), "report.txt")), Files.readString(Path.of(outs.get(1), "report.txt")));

        Exec.Result small = NixTestSupport.nixBuild(BUILD, List.of("audit-too-small"), List.of());
        assertNotEquals(0, small.exitCode());
        assertTrue(small.stderr().contains("FAIL  budget"), small.stderr());
        assertTrue(small.stderr().contains("closure audit failed (microforge exit code 3)"), small.stderr());

        Exec.Result forbidden = NixTestSupport.nixBuild(BUILD, List.of("audit-forbidden"), List.of());
        assertNotEquals(0, forbidden.exitCode());
        assertTrue(forbidden.stderr().contains("-libfake-1.0") && forbidden.stderr().contains("FAIL  forbid"), forbidden.stderr());
    }

    @Test
    void storeDiskDerivationsHaveTheRightShape() throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        List<String> inst = List.of(Tools.require("nix-instantiate").toString(), BUILD.toString(),
                "--argstr", "microforgeCommand", l.command().toString(), "--argstr", "microforgeVersion", l.version(),
                "-A", "disk-discard", "-A", "disk-erofs", "-A", "disk-squashfs");
        List<String> drvs = NixTestSupport.lines(Exec.run(inst, null, null, 120).check(inst).stdout());
        List<String> show = new ArrayList<>(List.of(Tools.require("nix").toString(), "--extra-experimental-features",
                "nix-command", "show-derivation"));
        show.addAll(drvs);
        JsonNode d = JSON.readTree(Exec.run(show, null, null, 120).check(show).stdout());
        JsonNode discard = d.get(drvs.get(0)).get("env");
        JsonNode attrs = JSON.readTree(discard.get("__json").asText());
        // Nix >= 2.18: one derivation, structured attributes, unsafeDiscardReferences, the closure as JSON
        assertEquals(true, attrs.path("unsafeDiscardReferences").path("out").asBoolean());
        assertTrue(attrs.path("exportReferencesGraph").path("closure").isArray(), attrs.toString());
        assertTrue(d.get(drvs.get(0)).get("outputs").get("out").get("path").asText().endsWith("-nix-store-discard.erofs"));
        // older Nix (this one): the masked build, then the unmasking one, whose only input derivation is the masked
        JsonNode masked = d.get(drvs.get(1)).get("inputDrvs");
        assertEquals(1, masked.size(), masked.toString());
        assertTrue(masked.fieldNames().next().endsWith("-nix-store.erofs.masked.drv"), masked.toString());
        // the plain form: one exportReferencesGraph file per root, no structured attributes
        JsonNode plain = d.get(drvs.get(2)).get("inputDrvs");
        String maskedSq = plain.fieldNames().next();
        List<String> showSq = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "show-derivation", maskedSq);
        JsonNode sq = JSON.readTree(Exec.run(showSq, null, null, 120).check(showSq).stdout()).get(maskedSq).get("env");
        assertTrue(sq.get("exportReferencesGraph").asText().startsWith("closure-0 /nix/store/"), sq.toString());
        assertTrue(!sq.has("__json"), sq.toString());
    }

    @Test
    void storeDisksStayOutOfBinaryCaches() throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        // the attributes of the derivations as nix/lib.nix made them (drvAttrs: also under structured attributes)
        String expr = """
                let
                  b = import %s { microforgeCommand = "%s"; };
                  attrs = d: { inherit (d.drvAttrs) name; allowSubstitutes = d.drvAttrs.allowSubstitutes or null;
                               preferLocalBuild = d.drvAttrs.preferLocalBuild or null; };
                in
                map attrs [ b.disk-erofs b.disk-discard b.disk-squashfs b.disk-cacheable b.runner-squashfs b.vm
                            b.audit-large-enough b.guest-module ]
                """.formatted(BUILD, l.command());
        List<String> cmd = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", "--expr", expr);
        Exec.Result r = Exec.run(cmd, null, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode v = JSON.readTree(r.stdout());
        String local = "{\"allowSubstitutes\":false,\"preferLocalBuild\":true}";
        String ordinary = "{\"allowSubstitutes\":null,\"preferLocalBuild\":null}";
        List<String> expected = List.of(
                "nix-store.erofs " + local, "nix-store-discard.erofs " + local, "nix-store.squashfs " + local,
                "nix-store-cacheable.erofs " + ordinary,
                // a runner of a local store disk is local too (a remote builder would be sent the image)
                "microvm-nixtest-qemu " + local, "microvm-nixtest-qemu " + local,
                "audit-large-enough " + ordinary, "microforge-guest-module.nix " + ordinary);
        List<String> actual = new ArrayList<>();
        for (JsonNode d : v) {
            actual.add(d.get("name").asText() + " {\"allowSubstitutes\":" + d.get("allowSubstitutes") + ",\"preferLocalBuild\":"
                    + d.get("preferLocalBuild") + "}");
        }
        assertEquals(expected, actual);

        // what Nix gets: the masked first stage too (an input of the unmasking derivation)
        List<String> inst = List.of(Tools.require("nix-instantiate").toString(), BUILD.toString(),
                "--argstr", "microforgeCommand", l.command().toString(), "-A", "disk-erofs", "-A", "disk-cacheable");
        List<String> drvs = NixTestSupport.lines(Exec.run(inst, null, null, 120).check(inst).stdout());
        List<String> show = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "show-derivation", "--recursive", drvs.get(0), drvs.get(1));
        JsonNode all = JSON.readTree(Exec.run(show, null, null, 120).check(show).stdout());
        int stages = 0;
        for (var it = all.fields(); it.hasNext(); ) {
            var e = it.next();
            String name = e.getKey();
            JsonNode env = e.getValue().get("env");
            JsonNode attrs = env.has("__json") ? JSON.readTree(env.get("__json").asText()) : env;
            if (name.endsWith("-nix-store.erofs.drv") || name.endsWith("-nix-store.erofs.masked.drv")) {
                stages++;
                // Nix's encoding of false and true in a derivation's environment: "" and "1"; JSON under structured attributes
                assertTrue(attrs.get("allowSubstitutes").asText().isEmpty() || attrs.get("allowSubstitutes").asText().equals("false"), name + attrs);
                assertTrue(attrs.get("preferLocalBuild").asText().equals("1") || attrs.get("preferLocalBuild").asText().equals("true"), name + attrs);
            } else if (name.contains("-nix-store-cacheable.erofs")) {
                stages++;
                assertTrue(!attrs.has("allowSubstitutes") && !attrs.has("preferLocalBuild"), name + attrs);
            }
        }
        // disk-erofs: masked + unmasked; disk-cacheable: masked + unmasked
        assertEquals(4, stages, all.toString());
    }

    @Test
    void storeDiskWithRegistration() throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(BUILD, List.of("disk-registration"), List.of());
        assertEquals(0, r.exitCode(), r.stderr());
        String disk = NixTestSupport.lines(r.stdout()).get(0);
        dev.microforge.testkit.Cli.Result ls = dev.microforge.testkit.Cli.run("image", "ls", disk);
        assertEquals(0, ls.exitCode(), ls.err());
        assertTrue(ls.out().contains("nix-path-registration"), ls.out());
    }

    static List<String> requisites(String path) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix-store").toString(), "-qR", path));
        return NixTestSupport.lines(Exec.run(cmd, null, null, 60).check(cmd).stdout());
    }

    static List<String> references(String path) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix-store").toString(), "-q", "--references", path));
        return NixTestSupport.lines(Exec.run(cmd, null, null, 60).check(cmd).stdout());
    }
}
