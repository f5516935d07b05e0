package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.List;

/**
 * The line-by-line reader of the line formats that {@link LineParser} replaced (microforge 0.1, session 1), kept
 * unchanged as the oracle of the differential tests: same graphs, same error messages.
 *
 * The line-based formats Nix writes with {@code makeValidityRegistration}: one record per path,
 * <pre>
 *   path
 *   narHash        (registration and dump-db only; any form Nix parses: sha256:nix32, base16, SRI)
 *   narSize        (registration and dump-db only)
 *   deriver        (a store path or an empty line)
 *   count
 *   reference      (count lines)
 * </pre>
 * {@code exportReferencesGraph} files have no hash and size lines. Every line ends with a newline.
 */
final class LegacyLineFormat {
    private final String source;
    private final String storeDir;
    private Lines lines; // released once parsed: the file's bytes need not outlive the records
    private final boolean withHash;
    /** Each distinct store path is parsed and validated once; references reuse the same instance. */
    private java.util.HashMap<String, StorePath> parsed = new java.util.HashMap<>();
    private int at;

    private LegacyLineFormat(String source, String storeDir, Lines lines, boolean withHash) {
        this.source = source;
        this.storeDir = storeDir;
        this.lines = lines;
        this.withHash = withHash;
    }

    /** The lines of a file: as strings, or as offsets into its bytes (no String per line kept alive). */
    private interface Lines {
        int length();

        String get(int i);
    }

    private static Lines of(String[] a) {
        return new Lines() {
            public int length() {
                return a.length;
            }

            public String get(int i) {
                return a[i];
            }
        };
    }

    /** Like {@link LineFormat#lines(String, byte[])} (same checks and messages) but keeps only line offsets. */
    static Lines index(String source, byte[] content) {
        int lines = LineFormat.checkText(source, content);
        if (lines == 0) {
            return of(new String[0]);
        }
        int[] starts = new int[lines + 1]; // the lines, plus the end sentinel
        int k = 0;
        starts[k++] = 0;
        for (int i = 0; i < content.length; i++) {
            if (content[i] == '\n') {
                starts[k++] = i + 1;
            }
        }
        int n = starts.length - 1;
        return new Lines() {
            public int length() {
                return n;
            }

            @SuppressWarnings("deprecation")
            public String get(int i) {
                int from = starts[i];
                return new String(content, 0, from, starts[i + 1] - 1 - from); // ASCII checked above
            }
        };
    }

    static ClosureGraph read(String source, String storeDir, byte[] content, boolean withHash) {
        return new LegacyLineFormat(source, storeDir, index(source, content), withHash).parse();
    }

    static List<Records.Rec> records(String source, String storeDir, String[] lines, boolean withHash) {
        return new LegacyLineFormat(source, storeDir, of(lines), withHash).parseRecords();
    }

    private ClosureGraph parse() {
        List<Records.Rec> recs = parseRecords();
        lines = null;
        parsed = null;
        return Records.build(source, storeDir, recs, List.of());
    }

    /**
     * Like {@link #read(String, String, byte[], boolean)}, taking over the content from {@code owned[0]} (set to null)
     * so a large file's bytes can be collected while the graph is built.
     */
    static ClosureGraph read(String source, String storeDir, byte[][] owned, boolean withHash) {
        return new LegacyLineFormat(source, storeDir, release(source, owned), withHash).parse();
    }

    private static Lines release(String source, byte[][] owned) {
        byte[] content = owned[0];
        owned[0] = null;
        return index(source, content);
    }

    private List<Records.Rec> parseRecords() {
        List<Records.Rec> recs = new ArrayList<>();
        int end = lines.length();
        while (end > 0 && lines.get(end - 1).isEmpty()) {
            end--; // trailing empty lines are tolerated
        }
        while (at < end) {
            int pathLine = at + 1;
            String p = next(() -> "a store path");
            if (p.isEmpty()) {
                throw UserError.at(source, pathLine, "expected a store path, got an empty line");
            }
            StorePath path = storePath(p, pathLine);
            Hash narHash = null;
            long narSize = -1;
            if (withHash) {
                int hl = at + 1;
                String h = next(() -> "the narHash of " + path);
                try {
                    narHash = Hash.parse(h, "sha256");
                } catch (IllegalArgumentException e) {
                    throw UserError.at(source, hl, "invalid narHash of " + path + ": " + e.getMessage());
                }
                int sl = at + 1;
                narSize = number(next(() -> "the narSize of " + path), sl, () -> "narSize of " + path, Long.MAX_VALUE);
            }
            int dl = at + 1;
            String d = next(() -> "the deriver line of " + path);
            StorePath deriver = d.isEmpty() ? null : storePath(d, dl);
            int cl = at + 1;
            String c = next(() -> "the reference count of " + path);
            long count = number(c, cl, () -> "reference count of " + path, Integer.MAX_VALUE);
            if (count > end - at) {
                throw UserError.at(source, cl, "reference count " + count + " of " + path + " exceeds the "
                        + (end - at) + " lines left in the file (wrong count or truncated file?)");
            }
            List<StorePath> refs = new ArrayList<>((int) count);
            int[] refLines = new int[(int) count];
            for (int i = 0; i < count; i++) {
                int rl = at + 1;
                final int ref = i + 1;
                String r = next(() -> "reference " + ref + " of " + count + " of " + path);
                if (r.isEmpty()) {
                    throw UserError.at(source, rl, "expected reference " + (i + 1) + " of " + count + " of " + path
                            + ", got an empty line (wrong count?)");
                }
                refs.add(storePath(r, rl));
                refLines[i] = rl;
            }
            recs.add(new Records.Rec(path, pathLine, refs, refLines, narHash, narSize, deriver));
        }
        return recs;
    }

    /** The next line; {@code what} describes the expected line for the message at the end of the file. */
    private String next(java.util.function.Supplier<String> what) {
        if (at >= lines.length()) {
            throw UserError.at(source, lines.length() + 1, "unexpected end of file: expected " + what.get() + " (truncated file?)");
        }
        return lines.get(at++);
    }

    private StorePath storePath(String text, int line) {
        StorePath known = parsed.get(text);
        if (known != null) {
            return known;
        }
        try {
            StorePath p = StorePath.parse(storeDir, text);
            parsed.put(text, p);
            return p;
        } catch (IllegalArgumentException e) {
            throw UserError.at(source, line, "expected a store path, got '" + Records.shown(text) + "': " + e.getMessage());
        }
    }

    private long number(String text, int line, java.util.function.Supplier<String> what, long max) {
        if (text.isEmpty() || text.length() > 19 || !text.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            throw UserError.at(source, line, "expected the " + what.get() + " (a non-negative integer), got '"
                    + Records.shown(text) + "'");
        }
        if (text.length() == 19 && text.compareTo(Long.toString(Long.MAX_VALUE)) > 0) {
            // 19 digits past Long.MAX_VALUE: too large, like any value over max (the old reader threw
            // NumberFormatException here, exit 1)
            throw UserError.at(source, line, what.get() + " " + text + " is too large");
        }
        long v = Long.parseLong(text);
        if (v > max) {
            throw UserError.at(source, line, what.get() + " " + v + " is too large");
        }
        return v;
    }
}
