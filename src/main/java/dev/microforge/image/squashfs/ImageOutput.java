package dev.microforge.image.squashfs;

import com.sun.nio.file.ExtendedOpenOption;
import dev.microforge.util.Tasks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Sequential, buffered output to the image, 1 MiB at a time, written by a thread of its own while the next
 * buffer fills (two buffers, one write in flight: the reading thread does not wait for the disk). Through an
 * O_DIRECT channel when one could be opened (the buffers are aligned, every write but the last is a whole
 * buffer at a multiple of 1 MiB, and the image ends on a 4 KiB boundary), else, or from the first write it
 * refuses on, through the channel. A failed write is thrown by the next {@link #write} or {@link #close}.
 */
final class ImageOutput {
    private static final int SIZE = 1 << 20;
    private static final int ALIGN = 4096;
    private final FileChannel ch;
    /** Used by the writer thread only (and by {@link #closeDirect} once no write is in flight). */
    private FileChannel direct;
    private final ByteBuffer[] bufs = new ByteBuffer[2];
    private ByteBuffer buf;
    private long pos;
    private long flushed;
    private final ExecutorService writer;
    private Future<?> pending;

    ImageOutput(FileChannel ch, Path path) {
        this.ch = ch;
        for (int i = 0; i < 2; i++) {
            bufs[i] = ByteBuffer.allocateDirect(SIZE + ALIGN).alignedSlice(ALIGN);
        }
        buf = bufs[0];
        if (path != null) {
            try {
                direct = FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
            } catch (IOException | UnsupportedOperationException e) {
                direct = null; // no direct I/O here: buffered writes
            }
        }
        writer = Tasks.daemonPool(1, "microforge-image-writer");
    }

    long position() {
        return pos;
    }

    void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    void write(byte[] b, int off, int len) throws IOException {
        pos += len;
        while (len > 0) {
            if (!buf.hasRemaining()) {
                flush();
            }
            int n = Math.min(len, buf.remaining());
            buf.put(b, off, n);
            off += n;
            len -= n;
        }
    }

    /** Hands the filled buffer to the writer thread (after the write before it has finished) and takes the other. */
    private void flush() throws IOException {
        buf.flip();
        ByteBuffer full = buf;
        long at = flushed;
        flushed += full.remaining();
        awaitPending();
        pending = writer.submit(() -> {
            writeAt(full, at);
            return null;
        });
        buf = full == bufs[0] ? bufs[1] : bufs[0];
        buf.clear();
    }

    private void awaitPending() throws IOException {
        if (pending == null) {
            return;
        }
        try {
            Tasks.await(pending);
        } finally {
            pending = null;
        }
    }

    /** On the writer thread: all of {@code b} at {@code at}. */
    private void writeAt(ByteBuffer b, long at) throws IOException {
        if (direct != null) {
            try {
                long p = at;
                while (b.hasRemaining()) {
                    p += direct.write(b, p);
                }
                return;
            } catch (IOException e) {
                // refused (alignment, file system): this buffer and the rest go through the channel
                closeDirect();
                b.position(0);
            }
        }
        long p = at;
        while (b.hasRemaining()) {
            p += ch.write(b, p);
        }
    }

    private void closeDirect() {
        try {
            if (direct != null) {
                direct.close();
            }
        } catch (IOException e) {
            // nothing was left unwritten: every write on it completed or was redone through the channel
        } finally {
            direct = null;
        }
    }

    /** Writes what is buffered, waits for it, and stops the writer (later writes go through the channel). */
    void close() throws IOException {
        try {
            flush();
            awaitPending();
        } finally {
            abandon();
        }
    }

    /**
     * Stops the writer thread (a write in flight, after an error, finishes first: an interrupt would close the
     * channel) and closes the direct channel.
     */
    void abandon() {
        writer.shutdown();
        try {
            writer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeDirect();
    }
}
