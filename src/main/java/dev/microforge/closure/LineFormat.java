package dev.microforge.closure;

import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;

/**
 * The line-based formats Nix writes with {@code makeValidityRegistration}: one record per path,
 * <pre>
 *   path
 *   narHash        (registration and dump-db only; any form Nix parses: sha256:nix32, base16, SRI)
 *   narSize        (registration and dump-db only)
 *   deriver        (a store path or an empty line)
 *   count
 *   reference      (count lines)
 * </pre>
 * {@code exportReferencesGraph} files have no hash and size lines. Every line ends with a newline. The reader is
 * {@link LineParser} (byte level, straight into the compact graph).
 */
final class LineFormat {
    private LineFormat() {}

    /** Splits into lines; checks the text is not binary and ends with a newline. */
    static String[] lines(String source, byte[] content) {
        if (checkText(source, content) == 0) {
            return new String[0];
        }
        String text = new String(content, 0, content.length - 1, StandardCharsets.US_ASCII);
        return text.split("\n", -1);
    }

    /** Checks that {@code content} is ASCII text without NUL bytes whose last line ends with a newline; returns its number of lines. */
    static int checkText(String source, byte[] content) {
        if (content.length == 0) {
            return 0;
        }
        int line = 1;
        for (byte b : content) {
            if (b == '\n') {
                line++;
            } else if (b == 0 || (b & 0xff) >= 0x80) {
                throw UserError.at(source, line, "unexpected byte 0x" + String.format("%02x", b & 0xff)
                        + " (a closure file is ASCII text; is this the right file?)");
            }
        }
        if (content[content.length - 1] != '\n') {
            throw UserError.at(source, line, "unexpected end of file: the last line has no newline (truncated?)");
        }
        return line - 1;
    }

    /**
     * True when the second line of the first record is a hash line (registration, dump-db), false when it is a
     * deriver line (exportReferencesGraph: empty or a store path).
     */
    static boolean looksRegistration(String[] lines) {
        return lines.length >= 2 && !lines[1].isEmpty() && !lines[1].startsWith("/");
    }

    static ClosureGraph read(String source, String storeDir, byte[] content, boolean withHash) {
        return LineParser.parse(source, storeDir, content, withHash);
    }

    /**
     * Like {@link #read(String, String, byte[], boolean)}, taking over the content from {@code owned[0]} (set to null)
     * so a large file's bytes can be collected once the graph is built.
     */
    static ClosureGraph read(String source, String storeDir, byte[][] owned, boolean withHash) {
        byte[] content = owned[0];
        owned[0] = null;
        return LineParser.parse(source, storeDir, content, withHash);
    }
}
