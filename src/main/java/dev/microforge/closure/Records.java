package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/** What the readers collect before a graph is built: each record with the lines it came from, for messages. */
final class Records {
    /** One path as a file declares it; {@code refLines[i]} is the line of {@code refs.get(i)}. */
    record Rec(StorePath path, int line, List<StorePath> refs, int[] refLines, Hash narHash, long narSize, StorePath deriver) {}

    private Records() {}

    /**
     * Checks that the records form a closed graph (naming file, line, the missing path and who refers to it),
     * that duplicate records agree, and builds the graph.
     */
    static ClosureGraph build(String source, String storeDir, List<Rec> recs, Collection<StorePath> roots) {
        Map<StorePath, Rec> byPath = new HashMap<>(recs.size() * 2);
        for (Rec r : recs) {
            Rec prev = byPath.putIfAbsent(r.path(), r);
            if (prev != null) {
                boolean same = new TreeSet<>(prev.refs()).equals(new TreeSet<>(r.refs()))
                        && Objects.equals(prev.narHash(), r.narHash())
                        && prev.narSize() == r.narSize();
                if (!same) {
                    throw UserError.at(source, r.line(), "path " + r.path() + " is listed again (first at line "
                            + prev.line() + ") with different information");
                }
            }
        }
        for (Rec r : recs) {
            for (int i = 0; i < r.refs().size(); i++) {
                StorePath ref = r.refs().get(i);
                if (!byPath.containsKey(ref)) {
                    String message = UserError.at(source, r.refLines()[i], "the closure is not closed: " + ref
                            + " is referenced by " + r.path() + " but is not in the closure").getMessage();
                    throw NotClosedException.of(message, storeDir, source, infos(byPath), byPath.keySet(), roots);
                }
            }
        }
        return ClosureGraph.of(storeDir, source, infos(byPath), roots);
    }

    private static List<PathInfo> infos(Map<StorePath, Rec> byPath) {
        List<PathInfo> infos = new ArrayList<>(byPath.size());
        for (Rec r : byPath.values()) {
            infos.add(new PathInfo(r.path(), r.refs(), r.narHash(), r.narSize(), r.deriver()));
        }
        return infos;
    }

    /** A text fragment for messages: at most 60 characters, control and non-ASCII characters escaped. */
    static String shown(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 60; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f) {
                sb.append(c);
            } else {
                sb.append(String.format("\\x%02x", (int) c & 0xff));
            }
        }
        if (sb.length() >= 60) {
            sb.append("...");
        }
        return sb.toString();
    }
}
