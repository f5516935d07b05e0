package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.closure.ClosureFormat;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureReader;
import dev.microforge.closure.PathInfo;
import dev.microforge.closure.PathInfoJson;
import dev.microforge.closure.Registration;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.JarCli;
import dev.microforge.testkit.Tools;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input harness: every command that reads a file (closures in every format, VM specs, SquashFS and EROFS
 * images) is run through the CLI's main, in its own JVM (256 MiB heap, killed after {@value #CASE_SECONDS} s),
 * on truncations, bit flips, FIFOs, directories, /dev/zero, empty files, control bytes (in the content and in the
 * file's name) and deeply nested JSON. Every case must end with exit 2 and exactly one line on stderr
 * ({@code microforge: ...}, no raw control character), never a hang, never an OutOfMemoryError or another
 * internal error, never a stack trace. The cases are a fixed list (138), built from the shipped
 * example; two run at a time.
 */
class BadInputHarnessTest {
    static final int CASE_SECONDS = 90;

    @TempDir
    Path tmp;

    record Case(String name, List<String> args) {}

    /** What is wrong with one run, or null when it is a clean bad-input refusal. */
    static String problem(JarCli.Result r) {
        if (r.timedOut()) {
            return "hung (killed after " + CASE_SECONDS + " s)";
        }
        String err = r.err();
        String firstLine = err.lines().findFirst().orElse("");
        if (err.contains("OutOfMemoryError") || err.contains("StackOverflowError")) {
            return "ran out of memory or stack: " + firstLine;
        }
        if (err.contains("\tat ") || err.contains("Exception in thread")) {
            return "stack trace on stderr: " + firstLine;
        }
        if (r.exitCode() != 2) {
            return "exit " + r.exitCode() + " instead of 2: " + (err.isEmpty() ? "(no message)" : firstLine);
        }
        if (!err.endsWith("\n") || err.indexOf('\n') != err.length() - 1) {
            return "stderr is not exactly one line: " + err.replace("\n", "\\n");
        }
        if (!err.startsWith("microforge: ") || err.contains("internal error")) {
            return "not a bad-input message: " + firstLine;
        }
        for (int i = 0; i < err.length() - 1; i++) {
            char c = err.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
                return "raw control character " + (int) c + " on stderr: " + RawNames.display(err.strip());
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ inputs

    private Path write(String name, byte[] content) throws IOException {
        Path p = tmp.resolve("in").resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, content);
        return p;
    }

    private Path write(String name, String content) throws IOException {
        return write(name, content.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] truncate(byte[] b, int n) {
        return Arrays.copyOf(b, Math.max(0, Math.min(b.length, n)));
    }

    /** Flips the bits {@code mask} of the byte at {@code at} (0x80: an ASCII byte becomes invalid UTF-8). */
    static byte[] flip(byte[] b, int at, int mask) {
        byte[] c = b.clone();
        c[at] ^= (byte) mask;
        return c;
    }

    static int indexOf(byte[] b, String s, int from) {
        byte[] n = s.getBytes(StandardCharsets.ISO_8859_1);
        outer:
        for (int i = from; i <= b.length - n.length; i++) {
            for (int k = 0; k < n.length; k++) {
                if (b[i + k] != n[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("'" + s + "' not in the seed");
    }

    static byte[] replaceFirst(byte[] b, String what, String with) {
        int i = indexOf(b, what, 0);
        byte[] w = with.getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[b.length - what.length() + w.length];
        System.arraycopy(b, 0, out, 0, i);
        System.arraycopy(w, 0, out, i, w.length);
        System.arraycopy(b, i + what.length(), out, i + w.length, b.length - i - what.length());
        return out;
    }

    static String exportReferencesGraph(ClosureGraph g) {
        StringBuilder sb = new StringBuilder();
        for (PathInfo pi : g.paths()) {
            sb.append(pi.path().path()).append("\n\n").append(pi.references().size()).append('\n');
            for (StorePath r : pi.references()) {
                sb.append(r.path()).append('\n');
            }
        }
        return sb.toString();
    }

    static String dumpDb(ClosureGraph g) {
        StringBuilder sb = new StringBuilder();
        for (PathInfo pi : g.paths()) {
            sb.append(pi.path().path()).append('\n').append(pi.narHash().toBase16().substring("sha256:".length())).append('\n')
                    .append(pi.narSize()).append("\n\n").append(pi.references().size()).append('\n');
            for (StorePath r : pi.references()) {
                sb.append(r.path()).append('\n');
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ cases

    List<Case> cases() throws Exception {
        Path root = Tools.projectRoot();
        Path exampleClosure = root.resolve("tests/example/closure.json");
        Path exampleStore = root.resolve("tests/example/store");
        String closure = exampleClosure.toString();
        ClosureGraph g = ClosureReader.read(exampleClosure, ClosureFormat.AUTO, "/nix/store");
        List<Case> cases = new ArrayList<>();

        // special files, for every command that reads a file
        Path fifo = tmp.resolve("in/fifo");
        Files.createDirectories(fifo.getParent());
        Exec.ok("mkfifo", fifo.toString());
        Path dir = Files.createDirectories(tmp.resolve("in/a-directory"));
        Path emptyCtl = write("empty\u001b[31m\n-fake", new byte[0]);
        Map<String, Path> special = new LinkedHashMap<>();
        special.put("fifo", fifo);
        special.put("dev-zero", Path.of("/dev/zero"));
        special.put("directory", dir);
        special.put("empty-ctl-name", emptyCtl);
        for (Map.Entry<String, Path> e : special.entrySet()) {
            String f = e.getValue().toString();
            cases.add(new Case("image-ls/" + e.getKey(), List.of("image", "ls", f)));
            cases.add(new Case("image-extract/" + e.getKey(), List.of("image", "extract", f, tmp.resolve("x-" + e.getKey()).toString())));
            cases.add(new Case("image-verify/" + e.getKey(), List.of("image", "verify", f, "--closure", closure)));
            cases.add(new Case("nix-emit/" + e.getKey(), List.of("nix", "emit", "--spec", f)));
            cases.add(new Case("runner/" + e.getKey(), List.of("runner", "--spec", f, "-o", tmp.resolve("r-" + e.getKey()).toString())));
            cases.add(new Case("preflight/" + e.getKey(), List.of("preflight", "--spec", f)));
            if (!e.getKey().equals("directory")) { // a directory is a closureInfo: covered below
                cases.add(new Case("closure-show/" + e.getKey(), List.of("closure", "show", "--closure", f)));
                cases.add(new Case("audit-size/" + e.getKey(), List.of("audit", "size", "--closure", f)));
            }
        }
        for (Map.Entry<String, Path> e : List.of(Map.entry("fifo", fifo), Map.entry("dev-zero", Path.of("/dev/zero")))) {
            String f = e.getValue().toString();
            cases.add(new Case("closure-scan/" + e.getKey(), List.of("closure", "scan", "--closure", f, "--real-store", exampleStore.toString())));
            cases.add(new Case("audit-self-contained/" + e.getKey(), List.of("audit", "self-contained", "--closure", f)));
            cases.add(new Case("image-build/" + e.getKey(), List.of("image", "build", "--type", "squashfs", "--closure", f,
                    "--real-store", exampleStore.toString(), "-o", tmp.resolve("b-" + e.getKey()).toString())));
        }
        cases.add(new Case("nar-hash/fifo", List.of("nar", "hash", fifo.toString())));
        cases.add(new Case("nar-hash/dev-zero", List.of("nar", "hash", "/dev/zero")));

        // closures in every format
        Map<String, byte[]> formats = new LinkedHashMap<>();
        formats.put("path-info-list", Files.readAllBytes(exampleClosure));
        formats.put("path-info-keyed", Files.readAllBytes(root.resolve("src/test/resources/closure/path-info-2.19-keyed.json")));
        formats.put("path-info-format-3", Files.readAllBytes(root.resolve("src/test/resources/closure/path-info-format-3.json")));
        formats.put("export-references-graph", exportReferencesGraph(g).getBytes(StandardCharsets.UTF_8));
        formats.put("registration", Registration.write(g));
        formats.put("dump-db", dumpDb(g).getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<String, byte[]> e : formats.entrySet()) {
            String fmt = e.getKey();
            byte[] seed = e.getValue();
            boolean json = fmt.startsWith("path-info");
            // the seed itself is valid: the cases below are bad because of their mutation
            Cli.Result valid = Cli.run("closure", "show", "--closure", write(fmt + "-valid", seed).toString());
            assertEquals(0, valid.exitCode(), fmt + " seed: " + valid.err());
            int hash = indexOf(seed, "6j37g4zr61c7", 0); // the first path's hash part, in every format
            Map<String, byte[]> bad = new LinkedHashMap<>();
            bad.put("truncated", truncate(seed, seed.length * 3 / 5));
            bad.put("truncated-in-first-path", truncate(seed, hash + 10));
            bad.put("bitflip-in-hash", flip(seed, hash + 5, 0x80));
            bad.put("bitflip-first-byte", flip(seed, json ? indexOf(seed, "\"", 0) : 0, 0x01));
            bad.put("esc-in-path", replaceFirst(seed, "-example-", "-\u001b[31m-"));
            bad.put("newline-in-path", replaceFirst(seed, "-example-", "-\n-"));
            bad.put("nul-in-path", replaceFirst(seed, "-example-", "-\u0000-"));
            if (json) {
                bad.put("deep-nesting", ("[".repeat(100_000)).getBytes(StandardCharsets.US_ASCII));
                bad.put("huge-narSize", replaceFirst(seed, "\"narSize\": ", "\"narSize\": 99999999999999999999999"));
            } else {
                bad.put("huge-count", replaceFirst(seed, "\n0\n", "\n99999999999999999999999\n"));
            }
            for (Map.Entry<String, byte[]> m : bad.entrySet()) {
                Path f = write(fmt + "-" + m.getKey(), m.getValue());
                cases.add(new Case("closure-show/" + fmt + "/" + m.getKey(), List.of("closure", "show", "--closure", f.toString())));
            }
            Path f = write(fmt + "-audit-truncated", truncate(seed, seed.length / 2));
            cases.add(new Case("audit-size/" + fmt + "/truncated", List.of("audit", "size", "--closure", f.toString())));
            if (fmt.equals("registration") || fmt.equals("path-info-list")) {
                cases.add(new Case("audit-self-contained/" + fmt + "/truncated", List.of("audit", "self-contained", "--closure", f.toString())));
                cases.add(new Case("closure-scan/" + fmt + "/truncated", List.of("closure", "scan", "--closure", f.toString(),
                        "--real-store", exampleStore.toString())));
                cases.add(new Case("image-build/" + fmt + "/truncated", List.of("image", "build", "--type", "erofs", "--closure", f.toString(),
                        "--real-store", exampleStore.toString(), "-o", tmp.resolve("b-" + fmt).toString())));
            }
        }
        byte[] reg = Registration.write(g);
        Path ci1 = Files.createDirectories(tmp.resolve("in/closure-info-truncated"));
        Files.write(ci1.resolve("registration"), truncate(reg, reg.length / 2));
        cases.add(new Case("closure-show/closure-info/truncated-registration", List.of("closure", "show", "--closure", ci1.toString())));
        Path ci2 = Files.createDirectories(tmp.resolve("in/closure-info-esc"));
        Files.write(ci2.resolve("registration"), reg);
        Files.writeString(ci2.resolve("store-paths"), "/nix/store/\u001b[2J\n");
        cases.add(new Case("closure-show/closure-info/esc-in-store-paths", List.of("closure", "show", "--closure", ci2.toString())));
        Path ci3 = Files.createDirectories(tmp.resolve("in/closure-info-fifo"));
        Exec.ok("mkfifo", ci3.resolve("registration").toString());
        cases.add(new Case("closure-show/closure-info/fifo-registration", List.of("closure", "show", "--closure", ci3.toString())));

        // VM specs
        String spec = "{\n  \"name\": \"vm\",\n  \"kernel\": \"/k\",\n  \"storeOnDisk\": false,\n  \"vcpu\": 2,\n  \"mem\": 512\n}\n";
        byte[] s = spec.getBytes(StandardCharsets.UTF_8);
        Cli.Result validSpec = Cli.run("nix", "emit", "--spec", write("spec-valid.json", s).toString());
        assertEquals(0, validSpec.exitCode(), "spec seed: " + validSpec.err());
        Map<String, byte[]> badSpecs = new LinkedHashMap<>();
        badSpecs.put("truncated", truncate(s, s.length / 2));
        badSpecs.put("bitflip-brace", flip(s, 0, 0x80));
        badSpecs.put("bitflip-in-key", flip(s, indexOf(s, "kernel", 0), 0x80));
        badSpecs.put("esc-in-name", replaceFirst(s, "\"vm\"", "\"v\\u001b[31mm\""));
        badSpecs.put("newline-in-name", replaceFirst(s, "\"vm\"", "\"v\\nm\""));
        badSpecs.put("raw-control-byte", replaceFirst(s, "\"vm\"", "\"v\u001bm\""));
        badSpecs.put("nul-byte", replaceFirst(s, "\"vm\"", "\"v\u0000m\""));
        badSpecs.put("deep-nesting", ("{\"name\": " + "[".repeat(100_000)).getBytes(StandardCharsets.US_ASCII));
        badSpecs.put("deep-nesting-closed", ("{\"x\": " + "[".repeat(5000) + "]".repeat(5000) + "}").getBytes(StandardCharsets.US_ASCII));
        badSpecs.put("huge-mem", replaceFirst(s, "512", "99999999999999999999999"));
        badSpecs.put("float-vcpu", replaceFirst(s, "\"vcpu\": 2", "\"vcpu\": 1e400"));
        badSpecs.put("not-an-object", "[1, 2]".getBytes(StandardCharsets.US_ASCII));
        badSpecs.put("invalid-utf8-in-string", flip(replaceFirst(s, "\"vm\"", "\"v?m\""), indexOf(s, "\"vm\"", 0) + 2, 0xc0));
        for (Map.Entry<String, byte[]> m : badSpecs.entrySet()) {
            Path f = write("spec-" + m.getKey() + ".json", m.getValue());
            cases.add(new Case("nix-emit/spec/" + m.getKey(), List.of("nix", "emit", "--spec", f.toString())));
        }
        Path truncatedSpec = write("spec-truncated-2.json", truncate(s, s.length / 3));
        cases.add(new Case("runner/spec/truncated", List.of("runner", "--spec", truncatedSpec.toString(), "-o", tmp.resolve("r-t").toString())));
        cases.add(new Case("preflight/spec/truncated", List.of("preflight", "--spec", truncatedSpec.toString())));

        // images: SquashFS and EROFS of the example closure
        for (String type : List.of("squashfs", "erofs")) {
            Path img = tmp.resolve("in/" + type + ".img");
            Cli.Result b = Cli.run("image", "build", "--type", type, "--closure", closure, "--real-store", exampleStore.toString(),
                    "-o", img.toString());
            assertEquals(0, b.exitCode(), type + " seed: " + b.err());
            Cli.Result ok = Cli.run("image", "verify", img.toString(), "--closure", closure, "--real-store", exampleStore.toString());
            assertEquals(0, ok.exitCode(), type + " seed verify: " + ok.err() + ok.out());
            byte[] seed = Files.readAllBytes(img);
            int sb = type.equals("erofs") ? 1024 : 0;
            Map<String, byte[]> bad = new LinkedHashMap<>();
            bad.put("truncated-512", truncate(seed, 512));
            // SquashFS: the bytes used (superblock offset 40), not the padding; EROFS: every block counts
            // the file system's end (both formats: microforge's reuse table follows it, and readers ignore it)
            long used = type.equals("squashfs") ? java.nio.ByteBuffer.wrap(seed, 40, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong()
                    : (java.nio.ByteBuffer.wrap(seed, sb + 36, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL) * 4096;
            byte[] truncatedTables = truncate(seed, (int) (used * 3 / 4));
            bad.put("truncated-tables", truncatedTables);
            bad.put("truncated-superblock", truncate(seed, sb + 40));
            bad.put("bitflip-magic", flip(seed, sb, 0x01));
            if (type.equals("squashfs")) {
                bad.put("bitflip-block-size", flip(seed, 12 + 2, 0x40));
                bad.put("bitflip-compression", flip(seed, 20, 0x10));
                bad.put("bitflip-inode-table-start", flip(seed, 64 + 3, 0x10));
                bad.put("bitflip-bytes-used", flip(seed, 40 + 3, 0x10));
            } else {
                bad.put("bitflip-blkszbits", flip(seed, sb + 12, 0x08));
                bad.put("bitflip-root-nid", flip(seed, sb + 15, 0x40));
                bad.put("bitflip-meta-blkaddr", flip(seed, sb + 43, 0x10));
            }
            for (Map.Entry<String, byte[]> m : bad.entrySet()) {
                Path f = write(type + "-" + m.getKey() + ".img", m.getValue());
                cases.add(new Case("image-ls/" + type + "/" + m.getKey(), List.of("image", "ls", f.toString())));
            }
            Path half = write(type + "-x-truncated-tables.img", truncatedTables);
            cases.add(new Case("image-extract/" + type + "/truncated-tables",
                    List.of("image", "extract", half.toString(), tmp.resolve("x-" + type).toString())));
            cases.add(new Case("image-verify/" + type + "/truncated-tables",
                    List.of("image", "verify", half.toString(), "--closure", closure, "--real-store", exampleStore.toString())));
        }
        return cases;
    }

    @Test
    void everyBadInputIsExit2AndOneLineNeverAHangOrACrash() throws Exception {
        List<Case> cases = cases();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Map<String, Future<JarCli.Result>> results = new LinkedHashMap<>();
        try {
            for (Case c : cases) {
                results.put(c.name(), pool.submit(() -> JarCli.run(c.args(), null, 256, CASE_SECONDS)));
            }
            Set<String> names = new TreeSet<>();
            List<String> failures = new ArrayList<>();
            for (Case c : cases) {
                if (!names.add(c.name())) {
                    throw new AssertionError("duplicate case name " + c.name());
                }
                JarCli.Result r = results.get(c.name()).get();
                String p = problem(r);
                System.out.println((p == null ? "ok    " : "FAIL  ") + c.name() + ": " + (p != null ? p : RawNames.display(r.err().strip())));
                if (p != null) {
                    failures.add(c.name() + ": " + p);
                }
            }
            System.out.println(cases.size() + " cases, " + failures.size() + " failures");
            assertEquals(List.of(), failures, cases.size() + " cases");
        } finally {
            pool.shutdownNow();
        }
    }
}
