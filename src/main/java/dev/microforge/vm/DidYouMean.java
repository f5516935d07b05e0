package dev.microforge.vm;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** "did you mean" suggestions by edit distance. */
final class DidYouMean {
    private DidYouMean() {}

    /**
     * The constant of {@code values} whose spec name ({@code id}) is {@code v}; otherwise a {@link SpecError} on
     * {@code field}: "must be one of [a, b], got 'v'" with a suggestion.
     */
    static <E> E oneOf(E[] values, Function<E, String> id, String v, String field) {
        List<String> ids = new ArrayList<>();
        for (E e : values) {
            if (id.apply(e).equals(v)) {
                return e;
            }
            ids.add(id.apply(e));
        }
        throw new SpecError(field, "must be one of " + ids + ", got '" + v + "'" + suggest(v, ids));
    }

    /** {@code " (did you mean 'x'?)"} or the empty string when nothing is close. */
    static String suggest(String given, Collection<String> known) {
        String best = null;
        int bestDist = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(given.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
            if (d < bestDist || d == bestDist && best != null && k.compareTo(best) < 0) {
                bestDist = d;
                best = k;
            }
        }
        if (best == null) {
            return "";
        }
        int limit = Math.max(2, Math.min(given.length(), best.length()) / 3);
        if (bestDist <= limit) {
            return " (did you mean '" + best + "'?)";
        }
        for (String k : known) {
            String g = given.toLowerCase(Locale.ROOT);
            String l = k.toLowerCase(Locale.ROOT);
            if (l.length() >= 3 && (g.startsWith(l) || l.startsWith(g) && g.length() >= 3)) {
                return " (did you mean '" + k + "'?)";
            }
        }
        return "";
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
