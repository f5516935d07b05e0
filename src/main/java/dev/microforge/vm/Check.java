package dev.microforge.vm;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/** Field checks shared by the spec records; each throws {@link SpecError} naming the field. */
final class Check {
    private Check() {}

    static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");

    static String required(String field, String v) {
        if (v == null) {
            throw new SpecError(field, "is required");
        }
        return v;
    }

    /** A host path: non-empty, no NUL byte. */
    static String path(String field, String v) {
        required(field, v);
        if (v.isEmpty()) {
            throw new SpecError(field, "must not be empty");
        }
        if (v.indexOf('\0') >= 0) {
            throw new SpecError(field, "must not contain a NUL byte");
        }
        return v;
    }

    static String optionalPath(String field, String v) {
        return v == null ? null : path(field, v);
    }

    /** A path inside the guest: absolute, no NUL, no newline (it ends up in fstab-like places). */
    static String guestPath(String field, String v) {
        path(field, v);
        if (!v.startsWith("/")) {
            throw new SpecError(field, "must be an absolute path inside the guest, got '" + v + "'");
        }
        if (v.indexOf('\n') >= 0) {
            throw new SpecError(field, "must not contain a newline");
        }
        return v;
    }

    static int range(String field, int v, long min, long max, String unit) {
        if (v < min || v > max) {
            throw new SpecError(field, "must be between " + min + " and " + max + unit + ", got " + v);
        }
        return v;
    }

    /** Printable ASCII without whitespace, at most {@code max} bytes. */
    static String token(String field, String v, int max, String what) {
        required(field, v);
        if (v.isEmpty()) {
            throw new SpecError(field, "must not be empty");
        }
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        if (b.length > max) {
            throw new SpecError(field, what + " '" + v + "' is " + b.length + " bytes, at most " + max + " are allowed");
        }
        for (byte x : b) {
            if (x <= ' ' || x >= 0x7f) {
                throw new SpecError(field, what + " must be printable ASCII without spaces, got '" + v.replace("\n", "\\n") + "'");
            }
        }
        return v;
    }

    /**
     * A {@link #token} that also becomes a file name (a path component under the runner directory): no '/', not
     * {@code .} or {@code ..}, not starting with '-'.
     */
    static String fileName(String field, String v, int max, String what) {
        token(field, v, max, what);
        if (v.indexOf('/') >= 0 || v.equals(".") || v.equals("..") || v.startsWith("-")) {
            throw new SpecError(field, what + " must be a plain name (no '/', not '.' or '..', not starting with '-'), got '" + v + "'");
        }
        return v;
    }

    static List<String> strings(String field, List<String> v) {
        if (v == null) {
            return List.of();
        }
        for (int i = 0; i < v.size(); i++) {
            if (v.get(i) == null) {
                throw new SpecError(field + "[" + i + "]", "must be a string, got null");
            }
            if (v.get(i).indexOf('\0') >= 0) {
                throw new SpecError(field + "[" + i + "]", "must not contain a NUL byte");
            }
        }
        return List.copyOf(v);
    }

    static <T> T oneOf(String field, T v, List<T> allowed) {
        if (!allowed.contains(v)) {
            throw new SpecError(field, "must be one of " + allowed + ", got '" + v + "'");
        }
        return v;
    }
}
