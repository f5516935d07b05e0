package dev.microforge.util;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Waiting for worker tasks: the one place that turns a task's failure back into the exception the task threw,
 * so that a {@link UserError} raised on a worker thread reaches the CLI as a {@code UserError} (exit 2, one line)
 * and an I/O failure as an {@link IOException}, never as a wrapped {@code ExecutionException}.
 */
public final class Tasks {
    private Tasks() {}

    /**
     * A fixed pool of {@code threads} daemon threads named {@code name-1}, {@code name-2}, ... (daemons, so a
     * pool an error path forgot to shut down never keeps the JVM alive).
     */
    public static ExecutorService daemonPool(int threads, String name) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The task's value, or its own exception: I/O failures as {@link IOException}, others unchanged. */
    public static <T> T await(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            throw asIOException(e.getCause());
        }
    }

    /** As {@link #await}, for callers that cannot throw checked exceptions: I/O failures as {@link UncheckedIOException}. */
    public static <T> T awaitUnchecked(Future<T> f) {
        try {
            return await(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The failure {@code t} as an {@link IOException} to throw: an {@code IOException} (also one wrapped in an
     * {@code UncheckedIOException}) is returned as it is; runtime exceptions and errors are thrown unchanged;
     * anything else (a checked exception from a {@code Callable}) is wrapped.
     */
    public static IOException asIOException(Throwable t) {
        if (t instanceof IOException io) {
            return io;
        }
        if (t instanceof UncheckedIOException u) {
            return u.getCause();
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        return new IOException(t);
    }
}
