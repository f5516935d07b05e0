package dev.microforge.store;

import dev.microforge.util.Tasks;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one job per path (typically {@link Nar#hash(java.nio.file.Path, ReferenceScanner, dev.microforge.util.Events,
 * Helpers)}) on a fixed number of threads. Each thread takes the next path in the given schedule; a thread that finds
 * none left lends itself to a path still being hashed (it takes over that path's SHA-256 while the owner keeps
 * reading), so the last, often largest, path does not run on one core while the others idle. Results come back in
 * index order whatever the schedule and thread count; when jobs fail, the failure of the lowest index is thrown (the
 * same one a sequential run would report first).
 */
public final class HashPool {
    /** One job: the result for {@code index}; {@code helpers} is null when running on one thread. */
    @FunctionalInterface
    public interface Job<T> {
        T run(int index, Helpers helpers) throws IOException;
    }

    private HashPool() {}

    /**
     * Runs {@code job} for every index of {@code schedule} (a permutation of 0..n-1, started in that order) on
     * {@code threads} threads (at least 1; 1 means the calling thread, no helpers). At most 2n threads are started: n
     * hashes and one helper each are all the work there is (more idle threads only poll).
     */
    public static <T> List<T> run(List<Integer> schedule, int threads, Job<T> job) throws IOException {
        int n = schedule.size();
        threads = (int) Math.min(threads, 2L * n);
        Object[] results = new Object[n];
        if (threads <= 1 || n == 0) {
            for (int i : schedule) {
                results[i] = job.run(i, null);
            }
            return list(results);
        }
        Throwable[] errors = new Throwable[n];
        AtomicInteger next = new AtomicInteger();
        Helpers helpers = new Helpers(threads);
        ExecutorService pool = Tasks.daemonPool(threads, "microforge-hash");
        try {
            List<Future<?>> workers = new ArrayList<>(threads);
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    try {
                        for (int k; (k = next.getAndIncrement()) < n; ) {
                            int i = schedule.get(k);
                            try {
                                results[i] = job.run(i, helpers);
                            } catch (InterruptedIOException e) {
                                throw e;
                            } catch (IOException | RuntimeException | Error e) {
                                errors[i] = e;
                            }
                        }
                    } finally {
                        helpers.leave();
                    }
                    helpers.serve();
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                Tasks.await(f);
            }
        } finally {
            pool.shutdownNow();
        }
        for (Throwable e : errors) {
            if (e != null) {
                throw Tasks.asIOException(e);
            }
        }
        return list(results);
    }

    /** 0..n-1, in order. */
    public static List<Integer> inOrder(int n) {
        List<Integer> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Object[] results) {
        return (List<T>) Arrays.asList(results);
    }

    /** The pool's threads that have run out of paths, offering themselves to running hashes. */
    public static final class Helpers {
        private final SynchronousQueue<Runnable> offers = new SynchronousQueue<>();
        private final AtomicInteger working;
        private final AtomicInteger idle = new AtomicInteger();
        private final AtomicInteger lent = new AtomicInteger();

        Helpers(int threads) {
            working = new AtomicInteger(threads);
        }

        /** Is a thread waiting for work? (cheap; {@link #lend} decides) */
        boolean anyIdle() {
            return idle.get() > 0;
        }

        /** Hands {@code task} to an idle thread; false when none takes it right now. */
        boolean lend(Runnable task) {
            if (offers.offer(task)) {
                lent.incrementAndGet();
                return true;
            }
            return false;
        }

        /** How many hashes a helper joined (for tests and diagnostics). */
        int lent() {
            return lent.get();
        }

        void leave() {
            working.decrementAndGet();
        }

        /** Runs lent tasks until no thread is working on a path any more. */
        void serve() throws InterruptedException {
            idle.incrementAndGet();
            try {
                while (working.get() > 0) {
                    Runnable r = offers.poll(2, TimeUnit.MILLISECONDS);
                    if (r != null) {
                        idle.decrementAndGet();
                        try {
                            r.run();
                        } finally {
                            idle.incrementAndGet();
                        }
                    }
                }
            } finally {
                idle.decrementAndGet();
            }
        }
    }
}
