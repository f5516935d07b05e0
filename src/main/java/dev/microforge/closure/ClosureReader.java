package dev.microforge.closure;

import dev.microforge.store.StorePath;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a closure file in any supported format ({@link ClosureFormat}), detecting the format when asked to.
 * Every problem is a {@link UserError} naming the file and line ("FILE:LINE: what is wrong").
 */
public final class ClosureReader {
    private ClosureReader() {}

    public static ClosureGraph read(Path file, ClosureFormat format, String storeDir) {
        String source = file.toString();
        if (Files.isDirectory(file)) {
            if (format != ClosureFormat.AUTO && format != ClosureFormat.CLOSURE_INFO) {
                throw new UserError(source + ": is a directory, not a " + format + " file");
            }
            return readClosureInfo(file, storeDir);
        }
        if (format == ClosureFormat.CLOSURE_INFO) {
            throw new UserError(source + ": closure-info expects the closureInfo output directory (with 'registration' and 'store-paths')");
        }
        checkReadable(file);
        // the line formats are parsed from a window over the file (never the whole file in memory); the first
        // megabyte decides the format
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            byte[] head = new byte[HEAD];
            int n = 0;
            boolean whole = false;
            while (n < head.length) {
                int r = ch.read(ByteBuffer.wrap(head, n, head.length - n));
                if (r < 0) {
                    whole = true;
                    break;
                }
                n += r;
            }
            ClosureFormat f = format != ClosureFormat.AUTO ? format : detectHead(source, head, n, whole);
            if (f == null || f == ClosureFormat.PATH_INFO_JSON) {
                byte[] content = readAll(file);
                f = f == null ? detect(source, content) : f;
                return switch (f) {
                    case PATH_INFO_JSON -> PathInfoJson.read(source, storeDir, content);
                    case EXPORT_REFERENCES_GRAPH -> LineFormat.read(source, storeDir, content, false);
                    case REGISTRATION, DUMP_DB -> LineFormat.read(source, storeDir, content, true);
                    default -> throw new IllegalStateException(f.toString());
                };
            }
            boolean withHash = switch (f) {
                case EXPORT_REFERENCES_GRAPH -> false;
                case REGISTRATION, DUMP_DB -> true;
                default -> throw new IllegalStateException(f.toString());
            };
            if (whole) {
                return LineFormat.read(source, storeDir, Arrays.copyOf(head, n), withHash);
            }
            return LineParser.parse(source, storeDir, head, n, ch, size, withHash);
        } catch (IOException e) {
            throw ioError(file, e);
        }
    }

    private static final int HEAD = 1 << 20;
    /** Largest file read into memory at once (path-info JSON; the line formats are read through a window). */
    static final long MAX_WHOLE = 512L << 20;

    /** {@link #detect} on the first bytes of a file, or null when they do not decide (then the whole file does). */
    private static ClosureFormat detectHead(String source, byte[] head, int n, boolean whole) {
        if (whole) {
            return detect(source, Arrays.copyOf(head, n));
        }
        int i = 0;
        while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) {
            i++;
        }
        if (i == n) {
            return null;
        }
        int newlines = 0;
        for (int k = 0; k < n && newlines < 3; k++) {
            if (head[k] == '\n') {
                newlines++;
            }
        }
        if (newlines < 3 && head[i] != '[' && head[i] != '{' && head[0] == '/') {
            return null;
        }
        return detect(source, Arrays.copyOf(head, n));
    }

    private static void checkReadable(Path file) {
        InputFiles.requireRegular(file);
    }

    private static UserError ioError(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return new UserError(file + ": no such file");
        }
        if (e instanceof AccessDeniedException) {
            return new UserError(file + ": permission denied");
        }
        return new UserError(file + ": cannot read: " + e.getMessage(), e);
    }

    /** The format of a closure file's content (never AUTO or CLOSURE_INFO). */
    public static ClosureFormat detect(String source, byte[] content) {
        int i = 0;
        while (i < content.length && (content[i] == ' ' || content[i] == '\t' || content[i] == '\r' || content[i] == '\n')) {
            i++;
        }
        if (i < content.length && (content[i] == '[' || content[i] == '{')) {
            return ClosureFormat.PATH_INFO_JSON;
        }
        if (content.length == 0) {
            return ClosureFormat.EXPORT_REFERENCES_GRAPH; // an empty closure; every line format reads it the same
        }
        if (content[0] != '/') {
            throw UserError.at(source, 1, "not a closure file: expected a store path, '[' or '{' at the start"
                    + " (formats: export-references-graph, registration, dump-db, path-info-json)");
        }
        // only the first record's first lines decide; the reader checks the whole file
        int end = 0;
        for (int nl = 0; end < content.length && nl < 3; end++) {
            if (content[end] == '\n') {
                nl++;
            }
        }
        String[] lines = new String(content, 0, end, StandardCharsets.ISO_8859_1).split("\n", -1);
        if (LineFormat.looksRegistration(lines)) {
            String second = lines[1];
            return second.length() == 64 && second.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')
                    ? ClosureFormat.DUMP_DB : ClosureFormat.REGISTRATION;
        }
        return ClosureFormat.EXPORT_REFERENCES_GRAPH;
    }

    static byte[] readAll(Path file) {
        return InputFiles.read(file, MAX_WHOLE, "a closure file read whole (path-info JSON)");
    }

    /**
     * A nixpkgs {@code closureInfo} directory: {@code registration} carries the graph; {@code store-paths}, when
     * present, must list exactly the same paths.
     */
    static ClosureGraph readClosureInfo(Path dir, String storeDir) {
        Path reg = dir.resolve("registration");
        if (!Files.exists(reg)) {
            throw new UserError(dir + ": not a closureInfo directory: it has no 'registration' file");
        }
        String source = reg.toString();
        byte[] content = readAll(reg);
        ClosureGraph g = LineFormat.read(source, storeDir, content, true);
        Path sp = dir.resolve("store-paths");
        if (Files.exists(sp)) {
            String[] lines = LineFormat.lines(sp.toString(), readAll(sp));
            Set<StorePath> listed = new HashSet<>();
            for (int i = 0; i < lines.length; i++) {
                if (lines[i].isEmpty() && i == lines.length - 1) {
                    continue;
                }
                StorePath p;
                try {
                    p = StorePath.parse(storeDir, lines[i]);
                } catch (IllegalArgumentException e) {
                    throw UserError.at(sp, i + 1, "expected a store path, got '" + Records.shown(lines[i]) + "': " + e.getMessage());
                }
                if (!g.contains(p)) {
                    throw UserError.at(sp, i + 1, p + " is not in " + source);
                }
                listed.add(p);
            }
            for (PathInfo pi : g.paths()) {
                if (!listed.contains(pi.path())) {
                    throw new UserError(sp + ": " + pi.path() + " is in " + source + " but not listed here");
                }
            }
        }
        return g;
    }

    /**
     * {@code g}, unless it has no store paths and {@code allowEmpty} is false: an empty closure (an empty file, {@code []},
     * {@code {}}, an empty registration or closureInfo) is almost always a mistake upstream, e.g. a failed redirect,
     * and would build an empty image or pass every audit; it is bad input naming the file.
     */
    public static ClosureGraph nonEmpty(ClosureGraph g, boolean allowEmpty) {
        if (g.size() == 0 && !allowEmpty) {
            throw new UserError(g.source() + ": empty closure (no store paths); give --allow-empty if that is intended");
        }
        return g;
    }

    /** Convenience for the common case. */
    public static ClosureGraph read(Path file) {
        return read(file, ClosureFormat.AUTO, StorePath.DEFAULT_STORE_DIR);
    }

    /** The closure of {@code roots} in the local Nix store (see {@link LocalStore}). */
    public static ClosureGraph fromStore(List<String> roots, String storeDir) {
        return LocalStore.closure(roots, storeDir);
    }
}
