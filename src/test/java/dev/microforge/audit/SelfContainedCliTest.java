package dev.microforge.audit;

import static dev.microforge.audit.TestGraphs.sp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.store.StorePath;
import dev.microforge.testkit.Cli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit self-contained} on a hand-made store tree (real files, real hashes in their bytes) read through
 * {@code --real-store}: every rule can fail, findings name the file, golden reports. The Nix-built version is in
 * {@link SelfContainedOracleTest}.
 */
class SelfContainedCliTest {
    @TempDir
    Path tmp;

    Path store;

    static final StorePath APP = sp("app-1.0");
    static final StorePath LIB = sp("libfoo-2.1");
    static final StorePath DATA = sp("data-3");
    static final StorePath OTHER = sp("gcc-13.2.0"); // present in the store, not in the closure
    static final StorePath GONE = sp("ghost-0.1"); // declared, not in the closure

    void write(StorePath p, String rel, String content) throws IOException {
        Path f = store.resolve(p.baseName()).resolve(rel);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content, StandardCharsets.UTF_8);
    }

    /** app -> lib (declared, in bin/app), app mentions data undeclared, lib links to gcc outside the closure. */
    Path fixture(boolean clean) throws IOException {
        store = tmp.resolve("store");
        Files.createDirectories(store);
        write(APP, "bin/app", "#!/bin/sh\nexec " + LIB + "/lib/libfoo.so\n");
        write(APP, "share/doc/README", clean ? "nothing here\n" : "see " + DATA + "/data.txt\n");
        write(LIB, "lib/libfoo.so", "\0ELF binary\0" + "rpath=" + LIB + "/lib\0");
        Files.createDirectories(store.resolve(LIB.baseName()).resolve("nix-support"));
        if (!clean) {
            Files.createSymbolicLink(store.resolve(LIB.baseName()).resolve("nix-support/cc"), Path.of(OTHER + "/bin/cc"));
        }
        write(DATA, "data.txt", "plain data\n");
        write(OTHER, "bin/cc", "compiler\n");
        String reg = new TestGraphs.B()
                .path("app-1.0", 1000, clean ? new String[] {"libfoo-2.1", "data-3"} : new String[] {"libfoo-2.1", "ghost-0.1"})
                .path("libfoo-2.1", 2000, "libfoo-2.1")
                .path("data-3", 300)
                .registration();
        Path f = tmp.resolve("closure.registration");
        Files.writeString(f, reg);
        return f;
    }

    Cli.Result run(Path closure, String... extra) {
        List<String> args = new ArrayList<>(List.of("audit", "self-contained", "--closure", closure.toString(),
                "--real-store", store.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(new String[0]));
    }

    @Test
    void cleanClosurePasses() throws IOException {
        Path f = fixture(true);
        Cli.Result r = run(f);
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("result: ok (self-contained)"), r.out());
        // data-3 is declared by app but its hash is not in app's bytes: a harmless note
        assertTrue(r.out().contains("declared but not found in the bytes"), r.out());
    }

    @Test
    void everyRuleFailsWithTheFileNamed() throws IOException {
        Path f = fixture(false);
        Cli.Result r = run(f, "--format", "json");
        assertEquals(3, r.exitCode(), r.out() + r.err());
        String out = r.out();
        assertTrue(out.contains("\"failedRules\": [\n    \"closed\",\n    \"honest\",\n    \"no-outside-references\"\n  ]"), out);
        assertTrue(r.err().contains("closed: 1 declared reference is not in the closure"), r.err());
        Cli.Result text = run(f);
        assertTrue(text.out().contains(APP + " declares " + GONE + ", which is not in the closure"), text.out());
        assertTrue(text.out().contains(APP + "/share/doc/README (contents) refers to " + DATA + " (in the closure, not declared)"), text.out());
        assertTrue(text.out().contains(LIB + "/nix-support/cc (symlink target) refers to " + OTHER + " (not in the closure)"), text.out());
        // without the store listing the outside reference is invisible (documented policy)
        Cli.Result noStore = run(f, "--no-store-candidates");
        assertFalse(noStore.out().contains(OTHER.toString()), noStore.out());
    }

    @Test
    void imageBytesAndForbid() throws IOException {
        Path f = fixture(true);
        Path img = tmp.resolve("disk.img");
        Files.write(img, ("superblock\0" + LIB.hashPart() + "-libfoo-2.1\0padding").getBytes(StandardCharsets.US_ASCII));
        Cli.Result r = run(f, "--image", img.toString());
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("1 store path hash of the closure in its bytes:\n  " + LIB + "\n"), r.out());
        assertTrue(r.out().contains("unsafeDiscardReferences.out = true"), r.out());
        assertTrue(r.err().contains("image-references"), r.err());
        Path clean = tmp.resolve("clean.img");
        Files.write(clean, new byte[4096]);
        assertEquals(0, run(f, "--image", clean.toString()).exitCode());
        Cli.Result forbid = run(f, "--forbid", "libfoo-*");
        assertEquals(3, forbid.exitCode());
        assertTrue(forbid.out().contains("why: app-1.0 -> libfoo-2.1"), forbid.out());
    }

    @Test
    void goldenReports() throws IOException {
        Path f = fixture(false);
        Path img = tmp.resolve("disk.img");
        Files.write(img, ("xx" + APP.hashPart() + "yy").getBytes(StandardCharsets.US_ASCII));
        for (String[] fmt : new String[][] {{"text", "self-contained.txt"}, {"markdown", "self-contained.md"}, {"json", "self-contained.json"}}) {
            Cli.Result r = run(f, "--image", img.toString(), "--forbid", "*-data-*", "--format", fmt[0]);
            assertEquals(3, r.exitCode(), r.err());
            String actual = r.out().replace(tmp.toString(), "$TMP");
            SizeAuditTest.golden(fmt[1], actual);
        }
    }

    /**
     * A store that holds only the closure's paths (e.g. --real-store of a copied closure) offers no hash outside the
     * closure to look for: the audit must not say "self-contained" after checking nothing outside.
     */
    @Test
    void noOutsideCandidatesFailsUnlessAccepted() throws IOException {
        Path f = fixture(true);
        // app names gcc's hash, but gcc is not in this store: with no outside candidate that cannot be seen
        write(APP, "share/doc/BUILD", "built with " + OTHER + "/bin/cc\n");
        deleteTree(store.resolve(OTHER.baseName()));
        Cli.Result r = run(f);
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertFalse(r.out().contains("result: ok"), r.out());
        assertTrue(r.out().contains("FAIL  outside-candidates    0 store paths outside the closure to look for: " + store
                + " holds no store path besides the closure's own"), r.out());
        assertTrue(r.err().contains("outside-candidates: 0 store paths outside the closure"), r.err());
        Cli.Result json = run(f, "--format", "json");
        assertEquals(3, json.exitCode());
        assertTrue(json.out().contains("\"failedRules\": [\n    \"outside-candidates\"\n  ]"), json.out());
        assertTrue(json.out().contains("\"warnings\": [ ],"), json.out());

        Cli.Result accepted = run(f, "--no-outside-candidates");
        assertEquals(0, accepted.exitCode(), accepted.out() + accepted.err());
        assertTrue(accepted.out().contains("\nWARNING: no store path outside the closure was looked for (" + store
                + " holds no store path besides the closure's own): the no-outside-references rule checked nothing"
                + " (--no-outside-candidates)\n"), accepted.out());
        assertFalse(accepted.out().contains("outside-candidates    "), accepted.out());
        Cli.Result acceptedJson = run(f, "--no-outside-candidates", "--format", "json");
        assertTrue(acceptedJson.out().contains("\"warnings\": [\n    \"no store path outside the closure was looked for"),
                acceptedJson.out());
        Cli.Result md = run(f, "--no-outside-candidates", "--format", "markdown");
        assertTrue(md.out().contains("> ⚠️ **Warning:** no store path outside the closure was looked for"), md.out());
        // --no-store-candidates lists nothing on purpose: accepted, with the same warning
        Cli.Result noStore = run(f, "--no-store-candidates");
        assertEquals(0, noStore.exitCode(), noStore.out() + noStore.err());
        assertTrue(noStore.out().contains("WARNING: no store path outside the closure was looked for (no store was listed"
                + " (--no-store-candidates))"), noStore.out());

        // with the other path back in the store the reference is found, and no warning
        write(OTHER, "bin/cc", "compiler\n");
        Cli.Result found = run(f, "--no-outside-candidates");
        assertEquals(3, found.exitCode(), found.out() + found.err());
        assertTrue(found.out().contains(APP + "/share/doc/BUILD (contents) refers to " + OTHER + " (not in the closure)"),
                found.out());
        assertFalse(found.out().contains("WARNING"), found.out());
    }

    static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    @Test
    void badInput() throws IOException {
        Path f = fixture(true);
        AuditSizeCliTest.badInput("--image", run(f, "--image", tmp.resolve("nope.img").toString()));
        AuditSizeCliTest.badInput("store path is missing on disk",
                Cli.run("audit", "self-contained", "--closure", f.toString(), "--real-store", tmp.toString()));
        AuditSizeCliTest.badInput("--threads", run(f, "--threads", "0"));
        Path garbage = tmp.resolve("garbage");
        Files.writeString(garbage, "/nix/store/short\n");
        AuditSizeCliTest.badInput(garbage.toString(), run(garbage));
    }
}
