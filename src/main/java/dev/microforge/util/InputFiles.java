package dev.microforge.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The one check every input file goes through before it is opened (closure files, VM specs, images, files compared
 * with {@code --check}): it must be a regular file (symbolic links followed). A FIFO would block forever on open,
 * a character device such as {@code /dev/zero} never ends, a directory cannot be read: each is refused with one
 * line naming the path and what it is. Whole-file reads are bounded.
 */
public final class InputFiles {
    private InputFiles() {}

    /** Refuses anything but an existing regular file: {@code PATH: no such file}, {@code PATH: not a regular file (a FIFO)}. */
    public static void requireRegular(Path file) {
        if (Files.isRegularFile(file)) {
            return;
        }
        if (!Files.exists(file)) {
            throw UserError.at(file, "no such file");
        }
        throw UserError.at(file, "not a regular file (" + kind(file) + ")");
    }

    /**
     * The whole content of a regular file of at most {@code max} bytes; {@code what} names the kind of input in
     * the message for a larger file ("a VM spec"). I/O errors become one-line {@link UserError}s naming the file.
     */
    public static byte[] read(Path file, long max, String what) {
        requireRegular(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes((int) Math.min(max + 1, Integer.MAX_VALUE - 16));
            if (b.length > max) {
                throw UserError.at(file, "too large for " + what + " (more than " + max + " bytes)");
            }
            return b;
        } catch (NoSuchFileException e) {
            throw UserError.at(file, "no such file");
        } catch (AccessDeniedException e) {
            throw UserError.at(file, "permission denied");
        } catch (IOException e) {
            throw new UserError(UserError.shown(file) + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * "a FIFO", "a directory", "a character device", ... for the message about a path that is not a regular file:
     * {@link AtomicOutput#kindOf} of what the path names, symbolic links followed.
     */
    public static String kind(Path p) {
        try {
            String k = AtomicOutput.kindOf(p.toRealPath());
            return k != null ? k : "not readable as a file";
        } catch (IOException | RuntimeException e) {
            return Files.isDirectory(p) ? "a directory" : "not readable as a file";
        }
    }
}
