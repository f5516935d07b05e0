package dev.microforge.audit;

import dev.microforge.util.Tasks;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureScan;
import dev.microforge.closure.NotClosedException;
import dev.microforge.closure.PathInfo;
import dev.microforge.store.Nar;
import dev.microforge.store.ReferenceScanner;
import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * {@code audit self-contained}: is the closure closed (every declared reference present) and honest (the bytes
 * refer to nothing it does not declare, and to no store path outside it)?
 *
 * <p>Candidate policy. Nix finds references by looking for the hash parts of <em>candidate</em> paths; a hash that is
 * not a candidate is invisible. The candidates here are every closure member plus every store path present in the
 * candidate store directory (by default the directory holding the closure's paths, e.g. {@code /nix/store}): a hash
 * of such a path inside the closure's bytes is a reference to a path that a VM built from this closure would not
 * have. Hash-like strings of paths this machine has never seen cannot be told from random nix32 text and are not
 * reported. Each path is scanned as its NAR stream (exactly Nix's scan); for the hashes that violate a rule the files
 * are then scanned one by one to name the file.
 */
public final class SelfContainedAudit {
    /**
     * {@code candidateStore}: where to list other store paths (null: none); {@code image}: an image file to scan (null:
     * none); {@code noOutsideCandidates}: accept that no store path outside the closure is looked for (else that fails
     * the {@code outside-candidates} rule).
     */
    public record Options(List<Glob> forbid, Path candidateStore, Path image, int threads, boolean noOutsideCandidates) {
        public Options {
            forbid = List.copyOf(forbid);
            Threads.check(threads);
        }
    }

    public static final String IMAGE_REMEDY = "a Nix build of the image finds these hashes in its output and records them as "
            + "runtime references, so 'nix copy' of the image drags their closures along; set "
            + "unsafeDiscardReferences.out = true on the image derivation (Nix >= 2.14; it needs the discard-references "
            + "experimental feature where that is still experimental), or use a layout that does not expose them in the "
            + "raw bytes (e.g. metadata compressed with gzip or xz, whose entropy coding hides literal strings; LZ4 and "
            + "zstd copy literals verbatim)";

    private SelfContainedAudit() {}

    private record PathResult(long narSize, List<SelfContainedReport.Finding> findings, List<SelfContainedReport.Stale> stale) {}

    public static SelfContainedReport run(ClosureGraph g, List<NotClosedException.Dangling> dangling, Path realStore,
            Options o, Events events) throws IOException {
        int n = g.size();
        for (PathInfo pi : g.paths()) {
            ClosureScan.onDisk(realStore, pi.path());
        }
        // candidates: the closure, plus every other store path present in the candidate store
        Map<String, StorePath> byHash = new HashMap<>(n * 2);
        for (PathInfo pi : g.paths()) {
            byHash.put(pi.path().hashPart(), pi.path());
        }
        int extra = 0;
        if (o.candidateStore() != null) {
            for (StorePath p : listStore(o.candidateStore(), g.storeDir())) {
                if (byHash.putIfAbsent(p.hashPart(), p) == null) {
                    extra++;
                }
            }
        }
        List<String> hashes = new ArrayList<>(new TreeSet<>(byHash.keySet()));
        Set<StorePath> members = new HashSet<>(n * 2);
        for (PathInfo pi : g.paths()) {
            members.add(pi.path());
        }

        List<SelfContainedReport.Finding> findings = new ArrayList<>();
        for (NotClosedException.Dangling d : dangling) {
            findings.add(new SelfContainedReport.Finding(SelfContainedReport.Kind.MISSING, d.referrer().path(), "", "",
                    d.missing().path()));
        }
        List<SelfContainedReport.Stale> stale = new ArrayList<>();
        long narBytes = 0;
        events.start("scanning " + n + " store paths", n);
        ExecutorService pool = Tasks.daemonPool(Math.min(o.threads(), Math.max(1, n)), "microforge-audit");
        try {
            List<Future<PathResult>> futures = new ArrayList<>(n);
            for (PathInfo pi : g.paths()) {
                futures.add(pool.submit(() -> {
                    PathResult r = scanPath(pi, realStore, hashes, byHash, members);
                    events.advance(1);
                    return r;
                }));
            }
            for (Future<PathResult> f : futures) {
                PathResult r = Tasks.await(f);
                narBytes = Math.addExact(narBytes, r.narSize());
                findings.addAll(r.findings());
                stale.addAll(r.stale());
            }
        } finally {
            pool.shutdownNow();
            events.finish("scanning");
        }
        findings.sort(Comparator.comparing(SelfContainedReport.Finding::kind)
                .thenComparing(SelfContainedReport.Finding::path).thenComparing(SelfContainedReport.Finding::file)
                .thenComparing(SelfContainedReport.Finding::where).thenComparing(SelfContainedReport.Finding::reference));

        // forbidden paths, with why-chains from the roots
        List<SizeReport.Forbidden> forbidden = new ArrayList<>();
        if (!o.forbid().isEmpty()) {
            int[] roots = Reach.roots(g, List.of());
            WhyChains why = WhyChains.compute(n, g::referencesOf, roots);
            for (Glob glob : o.forbid()) {
                for (int v = 0; v < n; v++) {
                    if (glob.matches(g.at(v).path())) {
                        List<String> chain = new ArrayList<>();
                        for (int c : why.chain(v)) {
                            chain.add(g.at(c).path().path());
                        }
                        forbidden.add(new SizeReport.Forbidden(glob.text(), g.at(v).path().path(), Math.max(0, g.at(v).narSize()), chain));
                    }
                }
            }
        }

        // the image's own bytes
        List<String> imageRefs = new ArrayList<>();
        if (o.image() != null) {
            List<String> closureHashes = new ArrayList<>(n);
            for (PathInfo pi : g.paths()) {
                closureHashes.add(pi.path().hashPart());
            }
            for (String h : scanFile(o.image(), closureHashes)) {
                imageRefs.add(byHash.get(h).path());
            }
            Collections.sort(imageRefs);
        }

        List<SizeReport.Rule> rules = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (SelfContainedReport.Kind k : SelfContainedReport.Kind.values()) {
            long count = findings.stream().filter(f -> f.kind() == k).count();
            String msg = switch (k) {
                case MISSING -> count == 0 ? "every declared reference is in the closure"
                        : count + " declared reference" + (count == 1 ? " is" : "s are") + " not in the closure";
                case UNDECLARED -> count == 0 ? "the bytes refer to no member they do not declare"
                        : count + " undeclared reference" + (count == 1 ? "" : "s") + " found in the bytes";
                case OUTSIDE -> count == 0 ? "no hash of a store path outside the closure in the bytes"
                        : count + " reference" + (count == 1 ? "" : "s") + " to store paths outside the closure";
            };
            rules.add(new SizeReport.Rule(k.rule(), count == 0, 0, count, msg));
        }
        if (extra == 0) {
            // nothing outside the closure was looked for: no-outside-references passed without checking anything
            String why = o.candidateStore() == null ? "no store was listed (--no-store-candidates)"
                    : o.candidateStore() + " holds no store path besides the closure's own";
            if (o.noOutsideCandidates()) {
                warnings.add("no store path outside the closure was looked for (" + why + "): the no-outside-references"
                        + " rule checked nothing (--no-outside-candidates)");
            } else {
                rules.add(new SizeReport.Rule("outside-candidates", false, 0, 0, "0 store paths outside the closure to look"
                        + " for: " + why + ", so a reference to a path outside the closure cannot be found; point"
                        + " --candidate-store at a store that has other paths (e.g. /nix/store), or accept with"
                        + " --no-outside-candidates"));
            }
        }
        if (o.image() != null) {
            int c = imageRefs.size();
            rules.add(new SizeReport.Rule("image-references", c == 0, 0, c, c == 0
                    ? "the image's bytes contain no store path hash of the closure"
                    : "the image's bytes contain " + c + " store path hash" + (c == 1 ? "" : "es") + " of the closure"));
        }
        if (!o.forbid().isEmpty()) {
            long c = forbidden.stream().map(SizeReport.Forbidden::path).distinct().count();
            rules.add(new SizeReport.Rule("forbid", c == 0, 0, c, c == 0 ? "no path matches a forbidden pattern"
                    : c + " forbidden path" + (c == 1 ? "" : "s") + " in the closure"));
        }
        return new SelfContainedReport(n, narBytes, n, extra,
                o.candidateStore() == null ? "" : o.candidateStore().toString(), findings, stale,
                o.forbid().stream().map(Glob::text).toList(), forbidden,
                o.image() == null ? null : o.image().toString(), imageRefs, rules, warnings);
    }

    private static PathResult scanPath(PathInfo pi, Path realStore, List<String> hashes, Map<String, StorePath> byHash,
            Set<StorePath> members) throws IOException {
        Path onDisk = ClosureScan.onDisk(realStore, pi.path());
        ReferenceScanner scanner = new ReferenceScanner(hashes);
        Nar.Info info = Nar.hash(onDisk, scanner, Events.NONE);
        Set<StorePath> declared = new HashSet<>(pi.references());
        Map<String, SelfContainedReport.Kind> bad = new HashMap<>();
        Set<StorePath> found = new HashSet<>();
        for (String h : scanner.found()) {
            StorePath ref = byHash.get(h);
            found.add(ref);
            if (!members.contains(ref)) {
                bad.put(h, SelfContainedReport.Kind.OUTSIDE);
            } else if (!declared.contains(ref)) {
                bad.put(h, SelfContainedReport.Kind.UNDECLARED);
            }
        }
        List<SelfContainedReport.Finding> findings = new ArrayList<>();
        if (!bad.isEmpty()) {
            List<String> badHashes = new ArrayList<>(new TreeSet<>(bad.keySet()));
            Set<String> located = new HashSet<>();
            for (HashLocator.Hit hit : HashLocator.locate(onDisk, badHashes)) {
                located.add(hit.hashPart());
                findings.add(new SelfContainedReport.Finding(bad.get(hit.hashPart()), pi.path().path(), hit.file(),
                        hit.where(), byHash.get(hit.hashPart()).path()));
            }
            for (String h : badHashes) {
                if (!located.contains(h)) {
                    findings.add(new SelfContainedReport.Finding(bad.get(h), pi.path().path(), "", "NAR stream",
                            byHash.get(h).path()));
                }
            }
        }
        List<SelfContainedReport.Stale> stale = new ArrayList<>();
        for (StorePath r : pi.references()) {
            if (!found.contains(r)) {
                stale.add(new SelfContainedReport.Stale(pi.path().path(), r.path()));
            }
        }
        return new PathResult(info.narSize(), findings, stale);
    }

    /** The hash parts among {@code candidates} that occur in a file's raw bytes. */
    static List<String> scanFile(Path file, List<String> candidates) throws IOException {
        ReferenceScanner s = new ReferenceScanner(candidates);
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                s.write(buf, 0, r);
            }
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UserError(file + ": permission denied");
        }
        return s.found();
    }

    /** The valid store paths among the entries of a store directory (names that are not store paths are skipped). */
    static List<StorePath> listStore(Path dir, String storeDir) throws IOException {
        List<StorePath> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            throw new UserError(dir + ": no such directory (candidate store)");
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.endsWith(".lock") || name.startsWith(".")) {
                    continue;
                }
                try {
                    out.add(StorePath.parseBaseName(storeDir, name));
                } catch (IllegalArgumentException e) {
                    // not a store path (e.g. .links, trash): not a candidate
                }
            }
        }
        return out;
    }
}
