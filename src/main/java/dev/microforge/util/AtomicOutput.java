package dev.microforge.util;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Output that appears at its final path only when complete: writes go to a temporary file in the
 * same directory, {@link #commit()} renames it into place; {@link #close()} without commit removes it.
 * Nothing half-written is ever left at the target path.
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean committed;

    private AtomicOutput(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    public static AtomicOutput create(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new UserError(target + ": output directory " + dir + " does not exist");
        }
        // not Files.createTempFile: that makes the file 0600; a plain CREATE_NEW honours the umask like any output
        Path temp;
        FileChannel ch;
        java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
        while (true) {
            temp = (dir == null ? abs : dir.resolve(abs.getFileName())).resolveSibling(
                    "." + abs.getFileName() + "." + Long.toUnsignedString(rnd.nextLong(), 36) + ".part");
            try {
                ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
                break;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // try another name
            }
        }
        return new AtomicOutput(abs, temp, ch);
    }

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
        return java.nio.channels.Channels.newOutputStream(channel);
    }

    /** Flushes to disk and renames into place. */
    public void commit() throws IOException {
        channel.force(true);
        channel.close();
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
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
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                out.channel().write(buf);
            }
            out.commit();
        }
    }
}
