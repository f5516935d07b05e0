package dev.microforge.util;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks on input files given by the user, so that errors name the file instead of a bare errno text. */
public final class Inputs {
    private Inputs() {}

    /** Refuses a directory where a file is read ("FILE: is a directory, expected WHAT"), exit 2. */
    public static Path requireNotDirectory(Path file, String what) {
        if (file.toString().isEmpty()) {
            throw new UserError("the path of the " + what + " is empty");
        }
        if (Files.isDirectory(file)) {
            throw new UserError(file + ": is a directory, expected " + what);
        }
        return file;
    }
}
