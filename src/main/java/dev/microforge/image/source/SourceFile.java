package dev.microforge.image.source;

import dev.microforge.fs.RegularFile;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The bytes of a {@link RegularFile} as an image writer reads them: the source is opened without following
 * links, must still be a regular file of the size the tree scan saw, and is read sequentially from a position
 * ({@link #readFully}, {@link #expectEnd}) or at any offset ({@link #readAt}). In-memory files are read from their
 * data. Every failure is a {@link UserError} of one line naming {@link RegularFile#origin()}:
 * <ul>
 *   <li>{@code <origin>: file vanished during the build}</li>
 *   <li>{@code <origin>: no longer a regular file (changed during the build)}</li>
 *   <li>{@code <origin>: file changed size during the build (expected N bytes, found only M)} (or {@code found M}
 *       for a larger file at open, {@code it has more now} when it grew while read)</li>
 *   <li>{@code <origin>: cannot read: REASON}</li>
 * </ul>
 * Not thread-safe; open one per thread (opening is cheap).
 */
public final class SourceFile implements AutoCloseable {
    private final RegularFile file;
    private final FileChannel channel;
    private final byte[] data;
    private long position;

    private SourceFile(RegularFile file, FileChannel channel, byte[] data, long position) {
        this.file = file;
        this.channel = channel;
        this.data = data;
        this.position = position;
    }

    /** Opens {@code file} to read from its first byte. */
    public static SourceFile open(RegularFile file) throws IOException {
        return open(file, 0);
    }

    /** Opens {@code file} to read sequentially from byte {@code position} on ({@code 0 <= position <= size}). */
    public static SourceFile open(RegularFile file, long position) throws IOException {
        if (position < 0 || position > file.size()) {
            throw new IllegalArgumentException("position " + position + " outside 0.." + file.size());
        }
        Path source = file.source();
        if (source == null) {
            return new SourceFile(file, null, file.data(), position);
        }
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(source, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw vanished(file);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
        if (!a.isRegularFile()) {
            throw notRegular(file);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(source, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw vanished(file);
        } catch (AccessDeniedException e) {
            throw cannotRead(file, e);
        } catch (FileSystemException e) {
            // O_NOFOLLOW refuses a symlink swapped in since the check above (ELOOP)
            throw Files.isSymbolicLink(source) ? notRegular(file) : cannotRead(file, e);
        }
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            ch.close();
            throw cannotRead(file, e);
        }
        if (size != file.size()) {
            ch.close();
            throw changedSize(file, (size < file.size() ? "found only " : "found ") + size);
        }
        return new SourceFile(file, ch, null, position);
    }

    public RegularFile file() {
        return file;
    }

    /** Bytes read so far plus the start position: the offset of the next sequential read. */
    public long position() {
        return position;
    }

    /** Reads the next {@code len} bytes into {@code b[off..]}; fails when the file ends before them. */
    public void readFully(byte[] b, int off, int len) throws IOException {
        readAt(position, b, off, len);
        position += len;
    }

    /** Reads {@code len} bytes at {@code at} (not moving the sequential position); fails when the file ends before them. */
    public void readAt(long at, byte[] b, int off, int len) throws IOException {
        if (data != null) {
            if (at + len > data.length) {
                throw changedSize(file, "found only " + data.length);
            }
            System.arraycopy(data, (int) at, b, off, len);
            return;
        }
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        long p = at;
        while (buf.hasRemaining()) {
            int n;
            try {
                n = channel.read(buf, p);
            } catch (IOException e) {
                throw cannotRead(file, e);
            }
            if (n < 0) {
                throw changedSize(file, "found only " + p);
            }
            p += n;
        }
    }

    /** After the last byte of the scanned size: checks that the file has no more. */
    public void expectEnd() throws IOException {
        if (data != null) {
            return;
        }
        int n;
        try {
            n = channel.read(ByteBuffer.allocate(1), file.size());
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
        if (n > 0) {
            throw changedSize(file, "it has more now");
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }

    private static UserError vanished(RegularFile f) {
        return new UserError(f.origin() + ": file vanished during the build");
    }

    private static UserError notRegular(RegularFile f) {
        return new UserError(f.origin() + ": no longer a regular file (changed during the build)");
    }

    private static UserError changedSize(RegularFile f, String found) {
        return new UserError(f.origin() + ": file changed size during the build (expected " + f.size() + " bytes, "
                + found + ")");
    }

    private static UserError cannotRead(RegularFile f, IOException e) {
        String why = e instanceof AccessDeniedException ? "permission denied"
                : e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : e.getMessage();
        return new UserError(f.origin() + ": cannot read: " + why);
    }
}
