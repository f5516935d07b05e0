package dev.microforge.audit;

import dev.microforge.audit.ClosureDiff.Change;
import dev.microforge.audit.ClosureDiff.Member;
import dev.microforge.audit.ClosureDiff.Package;
import dev.microforge.audit.ClosureDiff.Result;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The String-based diff that {@link ClosureDiff} replaced (session 1), kept as the oracle of {@code ClosureDiffTest};
 * it returns {@link ClosureDiff}'s own result types.
 *
 * The difference of two closures grouped by package, as {@code nix store diff-closures} computes it: paths are
 * grouped by {@link PackageName} name, then by version; for each package name the versions only before
 * ("removed"), only after ("added") and the change of the summed narSize. A package is listed when a version
 * was added or removed or its size changed by at least {@link ClosureDiff#SHOW_DELTA} bytes (Nix's 8 KiB threshold);
 * the total delta always counts every path.
 */
final class LegacyClosureDiff {
    private static final class Group {
        final Map<String, Long> versions = new HashMap<>();
        long size;
    }

    private LegacyClosureDiff() {}

    public static Result compute(List<Member> before, List<Member> after) {
        Map<String, Group> b = group(before);
        Map<String, Group> a = group(after);
        TreeSet<String> names = new TreeSet<>(b.keySet());
        names.addAll(a.keySet());
        long sb = 0;
        long sa = 0;
        for (Member m : before) {
            sb += Math.max(0, m.narSize());
        }
        for (Member m : after) {
            sa += Math.max(0, m.narSize());
        }
        List<Package> out = new ArrayList<>();
        Group empty = new Group();
        for (String name : names) {
            Group gb = b.getOrDefault(name, empty);
            Group ga = a.getOrDefault(name, empty);
            TreeSet<String> removed = new TreeSet<>();
            for (String v : gb.versions.keySet()) {
                if (!ga.versions.containsKey(v)) {
                    removed.add(v);
                }
            }
            TreeSet<String> added = new TreeSet<>();
            for (String v : ga.versions.keySet()) {
                if (!gb.versions.containsKey(v)) {
                    added.add(v);
                }
            }
            long delta = ga.size - gb.size;
            if (removed.isEmpty() && added.isEmpty() && Math.abs(delta) < ClosureDiff.SHOW_DELTA) {
                continue;
            }
            Change c = gb.versions.isEmpty() ? Change.ADDED : ga.versions.isEmpty() ? Change.REMOVED : Change.CHANGED;
            out.add(new Package(name, c, List.copyOf(removed), List.copyOf(added), gb.size, ga.size));
        }
        return new Result(before.size(), sb, after.size(), sa, out);
    }

    private static Map<String, Group> group(List<Member> members) {
        Map<String, Group> m = new HashMap<>(members.size());
        for (Member p : members) {
            PackageName pn = PackageName.of(p.name());
            Group g = m.computeIfAbsent(pn.name(), k -> new Group());
            g.versions.merge(pn.version(), Math.max(0, p.narSize()), Long::sum);
            g.size += Math.max(0, p.narSize());
        }
        return m;
    }
}
