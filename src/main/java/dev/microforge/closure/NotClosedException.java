package dev.microforge.closure;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * A closure file that refers to paths it does not contain. For most commands this is bad input (a
 * {@link UserError}, exit 2, the message names the first dangling reference); {@code audit self-contained} catches
 * it and reports every dangling reference as a finding, auditing the rest through {@link #openGraph()}.
 */
public final class NotClosedException extends UserError {
    private static final long serialVersionUID = 1L;

    /** {@code referrer} declares a reference to {@code missing}, which the closure does not contain. */
    public record Dangling(StorePath referrer, StorePath missing) {}

    private final transient List<Dangling> dangling;
    private final transient ClosureGraph openGraph;

    NotClosedException(String message, List<Dangling> dangling, ClosureGraph openGraph) {
        super(message);
        this.dangling = List.copyOf(dangling);
        this.openGraph = openGraph;
    }

    /** Every dangling reference, sorted by referrer then missing path. */
    public List<Dangling> dangling() {
        return dangling;
    }

    /** The graph of the members with the dangling references left out. */
    public ClosureGraph openGraph() {
        return openGraph;
    }

    /** Builds the exception for {@code infos} whose references outside {@code members} are dangling. */
    static NotClosedException of(String message, String storeDir, String source, Collection<PathInfo> infos,
            Set<StorePath> members, Collection<StorePath> roots) {
        List<Dangling> d = new ArrayList<>();
        List<PathInfo> kept = new ArrayList<>(infos.size());
        for (PathInfo pi : infos) {
            List<StorePath> refs = new ArrayList<>(pi.references().size());
            for (StorePath r : pi.references()) {
                if (members.contains(r)) {
                    refs.add(r);
                } else {
                    d.add(new Dangling(pi.path(), r));
                }
            }
            kept.add(new PathInfo(pi.path(), refs, pi.narHash(), pi.narSize(), pi.deriver()));
        }
        d.sort(Comparator.comparing(Dangling::referrer).thenComparing(Dangling::missing));
        List<StorePath> rootsKept = roots.stream().filter(members::contains).toList();
        return new NotClosedException(message, d, ClosureGraph.of(storeDir, source, kept, rootsKept));
    }
}
