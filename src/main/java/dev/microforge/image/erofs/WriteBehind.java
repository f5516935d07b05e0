package dev.microforge.image.erofs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Starts the write-back of the file data while the build goes on, so that the caller's final fsync finds
 * little left to write (on the bench corpus it took about 0.3 s of a 2.2 s --reuse build): once
 * {@code step} more bytes are written, a daemon thread runs {@code force(false)} on the channel unless one
 * is still running. Its first error is the build's ({@link #finish}), never swallowed: Linux reports a
 * write-back error to one fsync only.
 */
final class WriteBehind implements AutoCloseable {
    static final long STEP = 64L << 20;
    private final FileChannel ch;
    private final long step;
    private final ExecutorService flusher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "microforge-write-behind");
        t.setDaemon(true);
        return t;
    });
    private Future<?> running;
    private long unflushed;
    private IOException error;

    WriteBehind(FileChannel ch, long step) {
        this.ch = ch;
        this.step = step;
    }

    /** {@code n} more bytes were written. */
    void wrote(long n) {
        unflushed += n;
        if (unflushed >= step && (running == null || running.isDone())) {
            unflushed = 0;
            running = flusher.submit(() -> {
                try {
                    ch.force(false);
                } catch (IOException e) {
                    synchronized (this) {
                        if (error == null) {
                            error = e;
                        }
                    }
                }
            });
        }
    }

    /** Waits for the running flush; throws its error, or an earlier one's. */
    void finish() throws IOException {
        await();
        synchronized (this) {
            if (error != null) {
                throw new IOException("cannot write the image: " + error.getMessage(), error);
            }
        }
    }

    private void await() {
        if (running == null) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                running.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        await();
        flusher.shutdown();
    }
}
