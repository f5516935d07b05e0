package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.store.Nix32;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audits against Nix 2.8 on closures it built ({@code tests/fixtures/audit.nix}): totals and per-path closure
 * sizes equal {@code nix path-info -S}, why-chains walk Nix's registered references, and a path registered with
 * {@code nix-store --register-validity} with references left out is caught with the file named.
 */
@Tag("oracle")
class AuditOracleTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path fixture(String attr) {
        return NixFixtures.build(Tools.projectRoot().resolve("tests/fixtures/audit.nix"), attr);
    }

    /** path -> closureSize as {@code nix path-info --json -S -r} reports it. */
    static Map<String, Long> nixClosureSizes(Path top) throws IOException {
        Tools.require("nix");
        List<String> cmd = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "path-info", "--json", "-S", "-r", top.toString());
        JsonNode list = JSON.readTree(run(cmd));
        Map<String, Long> out = new HashMap<>();
        for (JsonNode n : list) {
            out.put(n.get("path").asText(), n.get("closureSize").asLong());
        }
        return out;
    }

    static byte[] run(List<String> cmd) throws IOException {
        try {
            return Exec.run(cmd, null, null, 300).check(cmd).stdout();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    void checkSizeReport(JsonNode report, Path top, Map<String, Long> nix) {
        assertEquals(nix.get(top.toString()), report.get("totals").get("closureSize").asLong(), "closure size vs nix path-info -S");
        assertEquals(NixFixtures.requisites(top).size(), report.get("totals").get("paths").asInt());
        assertEquals(nix.size(), report.get("top").size());
        for (JsonNode e : report.get("top")) {
            String p = e.get("path").asText();
            assertEquals(nix.get(p), e.get("closureSize").asLong(), "closureSize of " + p);
            JsonNode why = e.get("why");
            assertEquals(top.toString(), why.get(0).asText());
            assertEquals(p, why.get(why.size() - 1).asText());
            for (int i = 0; i + 1 < why.size(); i++) {
                List<String> refs = NixFixtures.references(why.get(i).asText());
                assertTrue(refs.contains(why.get(i + 1).asText()), why + ": step " + i + " is not a Nix reference");
            }
        }
    }

    @Test
    void sizeAgreesWithNixPathInfo(@TempDir Path tmp) throws IOException {
        Path top = fixture("top");
        Map<String, Long> nix = nixClosureSizes(top);
        // through --from-store (nix-store --dump-db) ...
        Cli.Result r = Cli.run("audit", "size", "--from-store", top.toString(), "--top", "100", "--format", "json");
        assertEquals(0, r.exitCode(), r.err());
        checkSizeReport(JSON.readTree(r.out()), top, nix);
        // ... and through nix path-info --json and an exportReferencesGraph-style file without sizes (computed from disk)
        Path json = tmp.resolve("closure.json");
        Files.write(json, NixFixtures.pathInfoJson(true, List.of(top.toString())));
        Cli.Result r2 = Cli.run("audit", "size", "--closure", json.toString(), "--top", "100", "--format", "json");
        assertEquals(0, r2.exitCode(), r2.err());
        checkSizeReport(JSON.readTree(r2.out()), top, nix);
        StringBuilder graph = new StringBuilder();
        for (String p : NixFixtures.requisites(top)) {
            List<String> refs = NixFixtures.references(p);
            graph.append(p).append("\n\n").append(refs.size()).append('\n');
            refs.forEach(x -> graph.append(x).append('\n'));
        }
        Path erg = tmp.resolve("graph");
        Files.writeString(erg, graph.toString());
        Cli.Result r3 = Cli.run("audit", "size", "--closure", erg.toString(), "--closure-format", "export-references-graph",
                "--top", "100", "--format", "json");
        assertEquals(0, r3.exitCode(), r3.err());
        checkSizeReport(JSON.readTree(r3.out()), top, nix);
        // libbig is only used by app: it dominates nothing but itself, so its added size is its narSize
        JsonNode rep = JSON.readTree(r.out());
        for (JsonNode e : rep.get("top")) {
            if (e.get("path").asText().endsWith("-libbig-1.0")) {
                assertEquals(e.get("narSize").asLong(), e.get("addedSize").asLong());
            }
            if (e.get("path").asText().endsWith("-mini-libc-2.38")) {
                assertEquals(e.get("narSize").asLong(), e.get("addedSize").asLong());
            }
        }
        // forbid: the leaked compiler library is found, with the chain through app
        Cli.Result f = Cli.run("audit", "size", "--from-store", top.toString(), "--forbid", "*-gcc-*", "--top", "0");
        assertEquals(3, f.exitCode(), f.out());
        assertTrue(f.out().contains("why: system-top-24.05 -> app-1.1 -> mini-gcc-13.2.0-lib"), f.out());
    }

    @Test
    void nixBuiltClosureIsSelfContained() {
        Path top = fixture("top");
        Cli.Result r = Cli.run("audit", "self-contained", "--from-store", top.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("\"ok\": true"), r.out());
    }

    /** A store path created by hand and registered with {@code nix-store --register-validity}; reused when valid. */
    static String register(String name, Path content, List<String> references) throws Exception {
        Path nixStore = Tools.require("nix-store");
        byte[] h = MessageDigest.getInstance("SHA-256").digest(("microforge-audit-oracle\0" + name + "\0" + references).getBytes(StandardCharsets.UTF_8));
        String path = "/nix/store/" + Nix32.encode(java.util.Arrays.copyOf(h, 20)) + "-" + name;
        int valid = Exec.run(List.of(nixStore.toString(), "--check-validity", path), null, null, 60).exitCode();
        if (valid == 0) {
            return path;
        }
        assertTrue(Files.isWritable(Path.of("/nix/store")), "the oracle needs a writable /nix/store (run as root)");
        Exec.ok("rm", "-rf", path);
        Exec.ok("cp", "-a", content.toString(), path);
        StringBuilder reg = new StringBuilder(path).append("\n\n").append(references.size()).append('\n');
        references.forEach(r -> reg.append(r).append('\n'));
        Path regFile = Files.createTempFile("registration", ".txt");
        try {
            Files.writeString(regFile, reg.toString());
            List<String> cmd = List.of("/bin/sh", "-c", "exec \"$0\" --register-validity < \"$1\"", nixStore.toString(), regFile.toString());
            Exec.run(cmd, null, null, 120).check(cmd);
        } finally {
            Files.deleteIfExists(regFile);
        }
        return path;
    }

    @Test
    void undeclaredReferenceIsCaughtWithTheFileNamed(@TempDir Path tmp) throws Exception {
        Path app = fixture("app");
        Path libc = fixture("libc");
        Path libbig = fixture("libbig");
        Path gcc = fixture("gcc");
        // a copy of app registered with only libc declared: its bin/app still names libbig and the gcc lib
        String liar = register("app-copy-1.1", app, List.of(libc.toString()));
        assertEquals(List.of(libc.toString()), NixFixtures.references(liar));
        // a bundle that declares the liar and libbig: libbig is in the closure but the liar does not declare it
        Path bundleDir = tmp.resolve("bundle");
        Files.createDirectories(bundleDir);
        Files.writeString(bundleDir.resolve("contents"), liar + "\n" + libbig + "\n");
        String bundle = register("bundle-1", bundleDir, List.of(liar, libbig.toString()));

        Cli.Result r = Cli.run("audit", "self-contained", "--from-store", bundle);
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains(liar + "/bin/app (contents) refers to " + libbig + " (in the closure, not declared)"), r.out());
        assertTrue(r.out().contains(liar + "/bin/app (contents) refers to " + gcc + " (not in the closure)"), r.out());
        assertTrue(r.err().contains("honest") && r.err().contains("no-outside-references"), r.err());
        assertFalse(r.out().contains("closed: "), r.out());

        // the liar alone, from a path-info JSON file: the outside references are found
        Path json = tmp.resolve("liar.json");
        Files.write(json, NixFixtures.pathInfoJson(true, List.of(liar)));
        Cli.Result r2 = Cli.run("audit", "self-contained", "--closure", json.toString(), "--format", "json");
        assertEquals(3, r2.exitCode(), r2.out() + r2.err());
        JsonNode rep = JSON.readTree(r2.out());
        List<String> refs = new ArrayList<>();
        for (JsonNode fnd : rep.get("findings")) {
            assertEquals("outside", fnd.get("kind").asText());
            assertEquals("bin/app", fnd.get("file").asText());
            refs.add(fnd.get("reference").asText());
        }
        assertEquals(List.of(libbig.toString(), gcc.toString()).stream().sorted().toList(), refs.stream().sorted().toList());
    }
}
