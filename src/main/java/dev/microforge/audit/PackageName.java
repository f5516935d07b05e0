package dev.microforge.audit;

import java.util.regex.Pattern;

/**
 * How {@code nix store diff-closures} groups store paths into packages. First the output name is stripped:
 * a name matching {@code (.*)-([a-z]+|lib32|lib64)} loses its last component ({@code gcc-12.2.0-lib} becomes
 * {@code gcc-12.2.0}; Nix accepts the ambiguity that a version like {@code -unstable} looks the same). Then
 * Nix's {@code DrvName} rule splits name and version: the version starts after the first dash that is not
 * followed by a letter ({@code apache-httpd-2.0.48} is {@code apache-httpd} version {@code 2.0.48};
 * {@code bash--1-2} is {@code bash} version {@code -1-2}); without such a dash the version is empty.
 */
public record PackageName(String name, String version, String output) {
    private static final Pattern OUTPUT = Pattern.compile("(.*)-([a-z]+|lib32|lib64)");

    public static PackageName of(String storePathName) {
        String name = storePathName;
        String output = "";
        int dash = name.lastIndexOf('-');
        if (dash >= 0 && isOutputName(name, dash + 1)) {
            output = name.substring(dash + 1);
            name = name.substring(0, dash);
        }
        for (int i = 0; i + 1 < name.length(); i++) {
            if (name.charAt(i) == '-' && !isAsciiLetter(name.charAt(i + 1))) {
                return new PackageName(name.substring(0, i), name.substring(i + 1), output);
            }
        }
        return new PackageName(name, "", output);
    }

    /**
     * Whether {@code name} from {@code from} matches {@code [a-z]+|lib32|lib64}; with the last dash this is exactly
     * Nix's greedy {@code (.*)-([a-z]+|lib32|lib64)} (the suffix after the last dash is the only candidate, since
     * neither alternative contains a dash). Checked by hand: it runs for every path of two closures.
     */
    static boolean isOutputName(String name, int from) {
        int len = name.length() - from;
        if (len == 5 && (name.startsWith("lib32", from) || name.startsWith("lib64", from))) {
            return true;
        }
        if (len == 0) {
            return false;
        }
        for (int i = from; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 'a' || c > 'z') {
                return false;
            }
        }
        return true;
    }

    /** The regular expression {@link #isOutputName} implements (kept for the test that compares them). */
    static final Pattern OUTPUT_REGEX = OUTPUT;

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
