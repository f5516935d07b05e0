package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.HashPool;
import dev.microforge.store.Nar;
import dev.microforge.store.ReferenceScanner;
import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Recomputes what a closure file declares from the bytes on disk: narHash and narSize (the NAR of each path)
 * and references (Nix's scan of that NAR for the hash parts of the closure's members, self included).
 * Paths are processed in parallel; results come back in graph order, so output does not depend on threads.
 */
public final class ClosureScan {
    private ClosureScan() {}

    /** What the disk says about one path. */
    public record Result(StorePath path, Hash narHash, long narSize, List<StorePath> references) {
        public Result {
            references = List.copyOf(references);
        }
    }

    /** One disagreement between the closure file and the disk. {@code field}: narHash, narSize or references. */
    public record Difference(StorePath path, String field, String declared, String actual) {
        public String message() {
            return path + ": " + field + " differs: declared " + declared + ", on disk " + actual;
        }
    }

    /** Where a store path is on disk: {@code realStore/<basename>}; missing is a user error. */
    public static Path onDisk(Path realStore, StorePath p) {
        Path d = realStore.resolve(p.baseName());
        if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            throw new UserError(p + ": store path is missing on disk (looked for " + d + ")");
        }
        return d;
    }

    /** Scans every member of {@code g} under {@code realStore} with {@code threads} threads ({@link Threads}). */
    public static List<Result> scan(ClosureGraph g, Path realStore, int threads, Events events) {
        Threads.check(threads);
        List<String> hashParts = new ArrayList<>(g.size());
        List<StorePath> candidates = new ArrayList<>(g.size());
        for (PathInfo pi : g.paths()) {
            hashParts.add(pi.path().hashPart());
            candidates.add(pi.path());
            onDisk(realStore, pi.path());
        }
        events.start("scanning " + g.size() + " store paths", g.size());
        try {
            return HashPool.run(largestFirst(g), threads, (i, helpers) -> {
                PathInfo pi = g.at(i);
                ReferenceScanner scanner = new ReferenceScanner(hashParts);
                Nar.Info info = Nar.hash(onDisk(realStore, pi.path()), scanner, Events.NONE, helpers);
                events.advance(1);
                return new Result(pi.path(), info.narHash(), info.narSize(), scanner.foundPaths(candidates));
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            events.finish("scanning");
        }
    }

    /**
     * Graph indexes, largest declared narSize first (unknown sizes last; ties in graph order): the biggest paths
     * start first, so the threads finish together. Only the schedule changes; results stay in graph order.
     */
    static List<Integer> largestFirst(ClosureGraph g) {
        List<Integer> order = HashPool.inOrder(g.size());
        order.sort(Comparator.comparingLong((Integer i) -> g.at(i).hasNarSize() ? -g.at(i).narSize() : 1L)
                .thenComparingInt(i -> i));
        return order;
    }

    /** Every difference between what {@code g} declares and {@code results} (in graph order). */
    public static List<Difference> compare(ClosureGraph g, List<Result> results) {
        List<Difference> out = new ArrayList<>();
        for (int i = 0; i < g.size(); i++) {
            PathInfo pi = g.at(i);
            Result r = results.get(i);
            if (pi.narHash() != null && !pi.narHash().equals(r.narHash())) {
                out.add(new Difference(pi.path(), "narHash", pi.narHash().toSri(), r.narHash().toSri()));
            }
            if (pi.hasNarSize() && pi.narSize() != r.narSize()) {
                out.add(new Difference(pi.path(), "narSize", Long.toString(pi.narSize()), Long.toString(r.narSize())));
            }
            if (!pi.references().equals(r.references())) {
                TreeSet<StorePath> missing = new TreeSet<>(pi.references());
                missing.removeAll(r.references());
                TreeSet<StorePath> extra = new TreeSet<>(r.references());
                extra.removeAll(pi.references());
                out.add(new Difference(pi.path(), "references",
                        describe(pi.references(), missing, "not found on disk"),
                        describe(r.references(), extra, "not declared")));
            }
        }
        return out;
    }

    private static String describe(List<StorePath> all, TreeSet<StorePath> odd, String what) {
        StringBuilder sb = new StringBuilder();
        sb.append(all.size()).append(all.size() == 1 ? " path" : " paths");
        if (!odd.isEmpty()) {
            sb.append(" (").append(what).append(": ");
            boolean first = true;
            for (StorePath p : odd) {
                sb.append(first ? "" : ", ").append(p.path());
                first = false;
            }
            sb.append(')');
        }
        return sb.toString();
    }

    /**
     * The graph with narHash and narSize computed from disk for every member that lacks them (others are
     * kept as declared). For writers that need a registration from a format without hashes.
     */
    public static ClosureGraph withComputedNarInfo(ClosureGraph g, Path realStore, int threads, Events events) {
        Threads.check(threads);
        List<PathInfo> missing = new ArrayList<>();
        for (PathInfo pi : g.paths()) {
            if (pi.narHash() == null || !pi.hasNarSize()) {
                missing.add(pi);
                onDisk(realStore, pi.path());
            }
        }
        if (missing.isEmpty()) {
            return g;
        }
        List<Nar.Info> hashed;
        try {
            hashed = HashPool.run(HashPool.inOrder(missing.size()), threads,
                    (i, helpers) -> Nar.hash(onDisk(realStore, missing.get(i).path()), null, events, helpers));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<StorePath, Nar.Info> computed = new HashMap<>();
        for (int i = 0; i < missing.size(); i++) {
            computed.put(missing.get(i).path(), hashed.get(i));
        }
        List<PathInfo> infos = new ArrayList<>(g.size());
        for (PathInfo pi : g.paths()) {
            Nar.Info c = computed.get(pi.path());
            infos.add(c == null ? pi : pi.withNar(c.narHash(), c.narSize()));
        }
        return g.withInfos(infos);
    }
}
