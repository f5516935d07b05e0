package dev.microforge.image;

import dev.microforge.util.Tasks;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * The deterministic block pipeline (after squashfs-tools-ng's doc/parallelism.txt): one producer submits
 * work items in sequence; {@code threads} workers run them in parallel; the results reach the {@link Sink}
 * strictly in submission order, on the producer's thread. At most {@code maxInFlight} items are queued or
 * running, so memory stays bounded whatever the input size. Output depends only on the sequence of
 * submitted work, never on the thread count or on timing.
 *
 * <pre>
 * try (Pipeline&lt;Block&gt; p = new Pipeline&lt;&gt;(threads, 4 * threads, (seq, block) -&gt; write(block))) {
 *     for (...) p.submit(() -&gt; compress(...));
 *     p.finish();
 * }
 * </pre>
 */
public final class Pipeline<R> implements AutoCloseable {
    /** Receives results in order; may throw to abort the pipeline. */
    @FunctionalInterface
    public interface Sink<R> {
        void accept(long seq, R result) throws IOException;
    }

    private final ExecutorService pool;
    private final int maxInFlight;
    private final Sink<R> sink;
    private final ArrayDeque<Future<R>> inFlight = new ArrayDeque<>();
    private long nextSeq;
    private long delivered;
    private boolean finished;

    public Pipeline(int threads, int maxInFlight, Sink<R> sink) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1");
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1");
        }
        this.maxInFlight = maxInFlight;
        this.sink = sink;
        if (threads == 1) {
            this.pool = null;
        } else {
            this.pool = Tasks.daemonPool(threads, "microforge-pipeline");
        }
    }

    /** Submits the next item; blocks (delivering earlier results) while {@code maxInFlight} items are pending. */
    public void submit(Callable<R> work) throws IOException {
        if (finished) {
            throw new IllegalStateException("pipeline already finished");
        }
        long seq = nextSeq++;
        if (pool == null) {
            R r = call(work);
            sink.accept(seq, r);
            delivered++;
            return;
        }
        while (inFlight.size() >= maxInFlight) {
            deliverOne();
        }
        inFlight.add(pool.submit(work));
    }

    /** Delivers every pending result; the pipeline accepts no more work afterwards. */
    public void finish() throws IOException {
        while (!inFlight.isEmpty()) {
            deliverOne();
        }
        finished = true;
    }

    /** Number of results delivered so far. */
    public long delivered() {
        return delivered;
    }

    private void deliverOne() throws IOException {
        Future<R> f = inFlight.peek();
        R r;
        try {
            r = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            throw Tasks.asIOException(e.getCause());
        }
        inFlight.poll();
        sink.accept(delivered, r);
        delivered++;
    }

    private static <R> R call(Callable<R> work) throws IOException {
        try {
            return work.call();
        } catch (Exception e) {
            throw Tasks.asIOException(e);
        }
    }


    /** Cancels pending work (after an error) and stops the workers. */
    @Override
    public void close() {
        for (Future<R> f : inFlight) {
            f.cancel(true);
        }
        inFlight.clear();
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
