package dev.microforge.audit;

import java.util.List;

/**
 * Everything {@code audit size} found, ready to render. Paths are full store paths; chains run from a root to
 * the path. {@code diff} is null without a baseline.
 */
public record SizeReport(List<String> roots, int paths, long closureSize, int top, List<Entry> biggest,
        List<String> forbidPatterns, List<Forbidden> forbidden, ClosureDiff.Result diff, List<String> baselineRoots,
        List<Rule> rules) {
    public static final int SCHEMA_VERSION = 1;

    public SizeReport {
        roots = List.copyOf(roots);
        biggest = List.copyOf(biggest);
        forbidPatterns = List.copyOf(forbidPatterns);
        forbidden = List.copyOf(forbidden);
        baselineRoots = List.copyOf(baselineRoots);
        rules = List.copyOf(rules);
    }

    /** One of the top N: added size (what leaves if it goes), its own narSize, its closure size. */
    public record Entry(String path, long addedSize, long narSize, long closureSize, List<String> why) {
        public Entry {
            why = List.copyOf(why);
        }
    }

    /** A path matching a {@code --forbid} pattern. */
    public record Forbidden(String pattern, String path, long narSize, List<String> why) {
        public Forbidden {
            why = List.copyOf(why);
        }
    }

    /**
     * One rule and its outcome: {@code budget}, {@code max-growth} or {@code forbid}; {@code limit} and
     * {@code actual} in bytes (or match counts for forbid), {@code message} says it in words.
     */
    public record Rule(String rule, boolean ok, long limit, long actual, String message) {}

    public boolean ok() {
        return rules.stream().allMatch(Rule::ok);
    }

    public List<Rule> failed() {
        return rules.stream().filter(r -> !r.ok()).toList();
    }
}
