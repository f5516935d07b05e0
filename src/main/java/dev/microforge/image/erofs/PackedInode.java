package dev.microforge.image.erofs;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The content of the packed inode (fragments, erofs-utils' fragments.c): the tails of compressed files, appended
 * in inode order, up to {@link #MAX} bytes. The writer then compresses it like a file; the superblock's packed_nid
 * names it. The content is kept in a temporary file (created at the first append, deleted by {@link #close}), so
 * that the writer's memory does not grow with the closure.
 */
final class PackedInode implements Closeable {
    /** The most it holds; a tail that does not fit stays in its file's own pclusters. */
    static final int MAX = 1 << 30;

    private Path path;
    private FileChannel spill;
    private int len;

    /** Whether {@code n} more bytes fit. */
    boolean fits(int n) {
        return (long) len + n <= MAX;
    }

    /** Appends {@code src[off, off+n)}; returns its offset in the packed inode (h_fragmentoff). */
    long append(byte[] src, int off, int n) throws IOException {
        if (!fits(n)) {
            throw new IllegalStateException("packed inode full");
        }
        if (spill == null) {
            path = Files.createTempFile("microforge-erofs-packed-", ".tmp");
            spill = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        ByteBuffer b = ByteBuffer.wrap(src, off, n);
        long at = len;
        for (long pos = at; b.hasRemaining(); ) {
            pos += spill.write(b, pos);
        }
        len += n;
        return at;
    }

    /** Appends zeros up to the next multiple of {@code align} (within {@link #MAX}, which is one). */
    void pad(int align) throws IOException {
        int n = (int) ((align - len % align) % align);
        if (n > 0) {
            append(new byte[n], 0, n);
        }
    }

    /** Extends the content by {@code n} bytes that are never read (a part copied from an earlier image). */
    void skip(long n) {
        if (len + n > MAX) {
            throw new IllegalStateException("packed inode full");
        }
        len += (int) n;
    }

    boolean isEmpty() {
        return len == 0;
    }

    /** The bytes appended so far. */
    int length() {
        return len;
    }

    /** Reads {@code dst.length} bytes of the content from {@code pos}. */
    void read(long pos, byte[] dst) throws IOException {
        if (pos < 0 || pos + dst.length > len) {
            throw new IndexOutOfBoundsException("packed inode range " + pos + "+" + dst.length + " of " + len);
        }
        ByteBuffer b = ByteBuffer.wrap(dst);
        while (b.hasRemaining()) {
            int n = spill.read(b, pos);
            if (n < 0) {
                throw new IOException(path + ": temporary file of the packed inode shorter than written");
            }
            pos += n;
        }
    }

    /** Deletes the temporary file. */
    @Override
    public void close() throws IOException {
        if (spill != null) {
            try {
                spill.close();
            } finally {
                Files.deleteIfExists(path);
                spill = null;
            }
        }
    }
}
