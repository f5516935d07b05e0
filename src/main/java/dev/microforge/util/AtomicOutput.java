package dev.microforge.util;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Output that appears at its final path only when complete: writes go to a temporary file in the
 * same directory, {@link #commit()} renames it into place; {@link #close()} without commit removes it.
 * Nothing half-written is ever left at the target path.
 *
 * <p>The rule for every {@code -o FILE}: the target may be missing or a regular file (then it is replaced);
 * a directory, symbolic link, device, FIFO or socket is refused with a {@link UserError} (exit 2) before
 * anything is written, and checked again just before the rename. Errors name the target as the user gave it,
 * never the temporary file.
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path given;
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean committed;

    private AtomicOutput(Path given, Path target, Path temp, FileChannel channel) {
        this.given = given;
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /** The kinds of file {@code -o} never replaces, by {@code st_mode & S_IFMT}. */
    public static String kindOf(Path p) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            if (Files.isSymbolicLink(p)) {
                return "a symbolic link";
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? "a regular file"
                    : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "a directory" : "a special file";
        }
        return switch (mode & 0170000) {
            case 0100000 -> "a regular file";
            case 0040000 -> "a directory";
            case 0120000 -> "a symbolic link";
            case 0020000 -> "a character device";
            case 0060000 -> "a block device";
            case 0010000 -> "a FIFO";
            case 0140000 -> "a socket";
            default -> "a special file";
        };
    }

    /**
     * Checks an output file's name as given, before it becomes a {@link Path} (which drops a trailing '/'): not
     * empty, and not ending in '/', which names a directory. Throws {@link UserError} otherwise.
     */
    public static void checkFileName(String given) {
        if (given.isEmpty()) {
            throw new UserError("the output path must not be empty");
        }
        if (given.endsWith("/")) {
            throw new UserError(RawNames.display(given) + ": names a directory (trailing '/'); an output file needs a file name");
        }
    }

    /**
     * Checks that {@code target} may be written as an output file: not empty, its directory exists, and it is
     * missing or a regular file. Throws {@link UserError} naming {@code target} otherwise.
     */
    public static void checkTarget(Path target) throws IOException {
        if (target.toString().isEmpty()) {
            throw new UserError("-o: the output path must not be empty");
        }
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null) {
            throw new UserError(target + ": is a directory (an output file may replace only a regular file)");
        }
        if (!Files.isDirectory(dir)) {
            throw new UserError(target + ": output directory " + dir + " does not exist");
        }
        String kind = kindOf(abs);
        if (kind == null || kind.equals("a regular file")) {
            return;
        }
        String hint = switch (kind) {
            case "a directory" -> "; name a file inside it";
            case "a symbolic link" -> "; name the file itself, or remove the link";
            default -> "";
        };
        throw new UserError(target + ": is " + kind + " (an output file may replace only a regular file; refusing to"
                + " replace it" + hint + ")");
    }

    public static AtomicOutput create(Path target) throws IOException {
        checkTarget(target);
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        // not Files.createTempFile: that makes the file 0600; a plain CREATE_NEW honours the umask like any output
        Path temp;
        FileChannel ch;
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        while (true) {
            temp = dir.resolve(tempPrefix(abs) + Long.toUnsignedString(rnd.nextLong(), 36) + ".part");
            try {
                ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW,
                        LinkOption.NOFOLLOW_LINKS);
                break;
            } catch (FileAlreadyExistsException e) {
                // try another name
            } catch (IOException e) {
                throw failure(target, e);
            }
        }
        return new AtomicOutput(target, abs, temp, ch);
    }

    /**
     * The start of the name of a temporary file or directory beside {@code target}: a dot, at most the first 64
     * characters of the target's name, a dot (so a 255-byte target name still leaves room for the rest).
     */
    public static String tempPrefix(Path target) {
        String n = String.valueOf(target.getFileName());
        return "." + (n.length() > 64 ? n.substring(0, 64) : n) + ".";
    }

    /** Where the bytes go until {@link #commit()}; never to be named in messages. */
    public Path tempPath() {
        return temp;
    }

    public Path target() {
        return target;
    }

    public FileChannel channel() {
        return channel;
    }

    public OutputStream stream() {
        return Channels.newOutputStream(channel);
    }

    /** Flushes to disk and renames into place, after checking again that the target may be replaced. */
    public void commit() throws IOException {
        try {
            channel.force(true);
            channel.close();
        } catch (IOException e) {
            throw failure(given, e);
        }
        checkTarget(given);
        try {
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw failure(given, e);
        }
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Writes a whole small file atomically. */
    public static void write(Path target, byte[] content) throws IOException {
        try (AtomicOutput out = create(target)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            try {
                while (buf.hasRemaining()) {
                    out.channel().write(buf);
                }
            } catch (IOException e) {
                throw failure(target, e);
            }
            out.commit();
        }
    }

    /**
     * What went wrong, without the file name the exception carries (for output that is the temporary file):
     * "No space left on device", "Permission denied", ...
     */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f) {
            return f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * The message of an exception raised while this output was written, with the temporary file replaced by the
     * target: just the reason when the exception is about the temporary file, else its message.
     */
    public String describe(IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null && Path.of(f.getFile()).equals(temp)) {
            return reason(e);
        }
        String m = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return m.replace(temp.toString(), given.toString());
    }

    /** An I/O failure while writing {@code target}: "TARGET: cannot write: REASON" (exit 1). */
    public static IOException failure(Path target, IOException e) {
        return new IOException(target + ": cannot write: " + reason(e), e);
    }
}
