package dev.microforge.image.erofs;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * Writes byte ranges to a channel at given positions on a daemon thread of its own, in the order they are
 * handed over, so that the caller (the writer's in-order sink) does not wait for the copies into the page
 * cache. A range's bytes must not change after {@link #write} (the caller hands over arrays it no longer
 * touches). At most {@code maxQueued} bytes wait at a time ({@link #write} blocks beyond that), so memory stays
 * bounded. The first failure is thrown by the next {@link #write} or {@link #flush}, and nothing is written
 * after it. {@link #close} stops the thread without writing what still waits.
 */
final class BackgroundWriter implements AutoCloseable {
    /** Writes all of {@code b} at {@code pos}. */
    interface Write {
        void to(FileChannel out, ByteBuffer b, long pos) throws IOException;
    }

    /** A range to write, or ({@code then}) an action to run once everything queued before it is written. */
    private record Job(byte[] b, int off, int len, long pos, Runnable then) {}

    private static final Job STOP = new Job(null, 0, 0, 0, null);

    private final FileChannel out;
    private final Write write;
    private final int maxQueued;
    private final Semaphore room;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile IOException failure;
    private boolean closed;

    BackgroundWriter(FileChannel out, int maxQueued, Write write) {
        if (maxQueued < 1) {
            throw new IllegalArgumentException("maxQueued must be at least 1");
        }
        this.out = out;
        this.write = write;
        this.maxQueued = maxQueued;
        this.room = new Semaphore(maxQueued);
        this.thread = new Thread(this::run, "microforge-erofs-write");
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues {@code b[off, off+len)} to be written at {@code pos}; blocks while too many bytes wait. */
    void write(byte[] b, int off, int len, long pos) throws IOException {
        check();
        if (len == 0) {
            return;
        }
        acquire(permits(len));
        queue.add(new Job(b, off, len, pos, null));
    }

    /**
     * Runs {@code action} on the writer's thread once everything queued before is written (or given up after a
     * failure); not at all after {@link #close}.
     */
    void then(Runnable action) {
        queue.add(new Job(null, 0, 0, 0, action));
    }

    /** Waits until everything queued is written; throws the first failure. */
    void flush() throws IOException {
        check();
        CountDownLatch done = new CountDownLatch(1);
        queue.add(new Job(null, 0, 0, 0, done::countDown));
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing the image");
        }
        check();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        failure = failure != null ? failure : new IOException("image writer closed");
        queue.add(STOP);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private int permits(int len) {
        return Math.min(len, maxQueued);
    }

    private void acquire(int n) throws IOException {
        try {
            room.acquire(n);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing the image");
        }
    }

    private void check() throws IOException {
        IOException f = failure;
        if (f != null) {
            throw f;
        }
    }

    private void run() {
        while (true) {
            Job j;
            try {
                j = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (j == STOP) {
                return;
            }
            if (j.then() != null) {
                j.then().run();
                continue;
            }
            try {
                if (failure == null) {
                    write.to(out, ByteBuffer.wrap(j.b(), j.off(), j.len()), j.pos());
                }
            } catch (IOException e) {
                failure = e;
            } catch (RuntimeException | Error e) {
                failure = new IOException("cannot write the image: " + e, e);
            } finally {
                room.release(permits(j.len()));
            }
        }
    }
}
