package dev.microforge.util;

import java.nio.file.Path;

/**
 * Bad input: a file, spec or argument that microforge refuses. Rendered as one line, exit code 2.
 * The message should name the file (and line or path) and say what is wrong.
 */
public class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }

    /** "FILE:LINE: message" */
    public static UserError at(Object file, long line, String message) {
        return new UserError(shown(file) + ":" + line + ": " + message);
    }

    /** "FILE: message" */
    public static UserError at(Object file, String message) {
        return new UserError(shown(file) + ": " + message);
    }

    /** A file for a message: a {@link java.nio.file.Path} from its raw bytes through {@link RawNames#display(byte[])}. */
    public static String shown(Object file) {
        return file instanceof Path p ? RawNames.display(RawNames.bytes(p)) : String.valueOf(file);
    }
}
