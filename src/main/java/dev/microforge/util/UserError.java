package dev.microforge.util;

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
        return new UserError(file + ":" + line + ": " + message);
    }

    /** "FILE: message" */
    public static UserError at(Object file, String message) {
        return new UserError(file + ": " + message);
    }
}
