package dev.microforge.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a package's version changed between two closures, as nvd and dix classify it: {@code upgrade} or
 * {@code downgrade} when both sides have versions and the newest differ by Nix's {@code compareVersions}
 * ({@code builtins.compareVersions}: components split at {@code .} and {@code -} and between digits and letters,
 * numbers that fit a 32-bit int compared as numbers (larger ones as text, as Nix 2.8 does), {@code pre} below everything else, a missing component below a number),
 * {@code added} or {@code removed} when the package is only on one side, {@code changed} otherwise (same newest version,
 * only the set of versions or the size changed).
 */
public enum VersionChange {
    UPGRADE("U"), DOWNGRADE("D"), ADDED("A"), REMOVED("R"), CHANGED("C");

    private final String letter;

    VersionChange(String letter) {
        this.letter = letter;
    }

    /** The one-letter tag nvd prints in brackets ({@code [U]}, {@code [D]}, {@code [A]}, {@code [R]}, {@code [C]}). */
    public String letter() {
        return letter;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VersionChange of(ClosureDiff.Package p) {
        return switch (p.change()) {
            case ADDED -> ADDED;
            case REMOVED -> REMOVED;
            case CHANGED -> {
                if (p.versionsBefore().isEmpty() || p.versionsAfter().isEmpty()) {
                    yield CHANGED;
                }
                int c = compare(newest(p.versionsBefore()), newest(p.versionsAfter()));
                yield c < 0 ? UPGRADE : c > 0 ? DOWNGRADE : CHANGED;
            }
        };
    }

    /** Whether the package's set of versions changed (not only its size). */
    public static boolean versionsChanged(ClosureDiff.Package p) {
        return !p.versionsBefore().isEmpty() || !p.versionsAfter().isEmpty();
    }

    /**
     * The version changes as nvd lists them, one per package whose versions changed, in the diff's (name) order:
     * {@code [U] firefox 120.0 -> 121.0}, {@code [A] newpkg 1.0}, {@code [R] oldpkg 2.0}; {@code ε} for the empty version.
     */
    public static List<String> lines(ClosureDiff.Result d) {
        List<String> out = new ArrayList<>();
        for (ClosureDiff.Package p : d.packages()) {
            if (!versionsChanged(p)) {
                continue;
            }
            VersionChange c = of(p);
            String line = "[" + c.letter + "] " + p.name() + " " + switch (c) {
                case ADDED -> join(p.versionsAfter());
                case REMOVED -> join(p.versionsBefore());
                default -> join(p.versionsBefore()) + " -> " + join(p.versionsAfter());
            };
            out.add(line);
        }
        return out;
    }

    /** The counts of {@link #lines}: {@code 2 upgraded, 0 downgraded, 1 added, 0 removed, 0 changed}. */
    public static String counts(ClosureDiff.Result d) {
        int[] n = new int[values().length];
        for (ClosureDiff.Package p : d.packages()) {
            if (versionsChanged(p)) {
                n[of(p).ordinal()]++;
            }
        }
        return n[UPGRADE.ordinal()] + " upgraded, " + n[DOWNGRADE.ordinal()] + " downgraded, " + n[ADDED.ordinal()] + " added, "
                + n[REMOVED.ordinal()] + " removed, " + n[CHANGED.ordinal()] + " changed";
    }

    private static String join(List<String> vs) {
        if (vs.isEmpty()) {
            return "∅";
        }
        return String.join(", ", vs.stream().map(v -> v.isEmpty() ? "ε" : v).toList());
    }

    static String newest(List<String> versions) {
        String best = versions.get(0);
        for (String v : versions) {
            if (compare(v, best) > 0) {
                best = v;
            }
        }
        return best;
    }

    /** Nix's {@code compareVersions}: negative, zero or positive. */
    public static int compare(String v1, String v2) {
        int[] p1 = {0};
        int[] p2 = {0};
        while (p1[0] < v1.length() || p2[0] < v2.length()) {
            String c1 = next(v1, p1);
            String c2 = next(v2, p2);
            if (less(c1, c2)) {
                return -1;
            }
            if (less(c2, c1)) {
                return 1;
            }
        }
        return 0;
    }

    private static String next(String s, int[] pos) {
        int p = pos[0];
        while (p < s.length() && (s.charAt(p) == '.' || s.charAt(p) == '-')) {
            p++;
        }
        int from = p;
        if (p < s.length() && isDigit(s.charAt(p))) {
            while (p < s.length() && isDigit(s.charAt(p))) {
                p++;
            }
        } else {
            while (p < s.length() && !isDigit(s.charAt(p)) && s.charAt(p) != '.' && s.charAt(p) != '-') {
                p++;
            }
        }
        pos[0] = p;
        return s.substring(from, p);
    }

    /** A digit component as Nix's {@code string2Int<int>} reads it; -1 when it is none or does not fit a 32-bit int. */
    private static long asInt(String c) {
        if (c.isEmpty() || !isDigit(c.charAt(0)) || c.length() > 10) {
            return -1;
        }
        long v = Long.parseLong(c);
        return v <= Integer.MAX_VALUE ? v : -1;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean less(String c1, String c2) {
        long i1 = asInt(c1);
        long i2 = asInt(c2);
        boolean n1 = i1 >= 0;
        boolean n2 = i2 >= 0;
        if (n1 && n2) {
            return i1 < i2;
        } else if (c1.isEmpty() && n2) {
            return true;
        } else if (c1.equals("pre") && !c2.equals("pre")) {
            return true;
        } else if (c2.equals("pre")) {
            return false;
        } else if (n2) {
            return true;
        } else if (n1) {
            return false;
        }
        return c1.compareTo(c2) < 0;
    }
}
