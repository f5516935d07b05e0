package dev.microforge.image.erofs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A deterministic block pipeline: tasks are produced in order, worked on by {@code threads} threads, and their
 * results consumed strictly in task order; at most {@code window} results are in flight (bounded memory).
 * The output is identical at any thread count because work functions are pure and consumption is ordered.
 */
final class OrderedPipeline {
    private OrderedPipeline() {}

    interface Work<T, R> {
        R apply(T task) throws IOException;
    }

    interface Sink<R> {
        void accept(R result) throws IOException;
    }

    static <T, R> void run(int threads, int window, Iterator<T> tasks, Work<T, R> work, Sink<R> sink) throws IOException {
        if (threads <= 1) {
            while (tasks.hasNext()) {
                sink.accept(work.apply(tasks.next()));
            }
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "erofs-worker");
            t.setDaemon(true);
            return t;
        });
        ArrayDeque<Future<R>> inFlight = new ArrayDeque<>();
        try {
            while (tasks.hasNext() || !inFlight.isEmpty()) {
                while (tasks.hasNext() && inFlight.size() < window) {
                    T t = tasks.next();
                    inFlight.add(pool.submit(() -> {
                        try {
                            return work.apply(t);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }));
                }
                Future<R> head = inFlight.poll();
                R r;
                try {
                    r = head.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof UncheckedIOException u) {
                        throw u.getCause();
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IOException(c);
                }
                sink.accept(r);
            }
        } finally {
            for (Future<R> f : inFlight) {
                f.cancel(true);
            }
            pool.shutdownNow();
        }
    }
}
