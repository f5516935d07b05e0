package dev.microforge.testkit;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Runs test work on a daemon worker thread with a time limit, so that a hang FAILS the test instead of stalling the
 * build: a loop that ignores interrupts cannot be stopped from Java (JUnit's same-thread {@code @Timeout} waits for
 * it forever), but it can be abandoned. On timeout the failure names the context (seed, case, ...) and shows the
 * worker's stack; the worker is then dead, and later calls fail at once. The surefire fork timeout
 * ({@code microforge.forkTimeout}) is the outer bound for everything else.
 *
 * <pre>
 *   try (Bounded b = new Bounded("fuzz")) {
 *       b.call(Duration.ofSeconds(30), () -&gt; "seed " + seed + ", run " + run, () -&gt; walk(image));
 *   }
 * </pre>
 */
public final class Bounded implements AutoCloseable {
    /** The failure of a task that took longer than its limit (the message names its context). */
    public static final class Hang extends AssertionError {
        Hang(String message) {
            super(message);
        }
    }

    private final ExecutorService exec;
    private volatile Thread worker;
    private String abandoned;

    public Bounded(String name) {
        exec = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "bounded-" + name);
            t.setDaemon(true);
            worker = t;
            return t;
        });
    }

    /** The task's result, its exception as it is, or {@link Hang} when it takes longer than {@code limit}. */
    public <T> T call(Duration limit, Supplier<String> context, Callable<T> task) throws Exception {
        if (abandoned != null) {
            throw new Hang("the worker is still stuck in an earlier task (" + abandoned + ")");
        }
        Future<T> f = exec.submit(task);
        try {
            return f.get(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            StringBuilder stack = new StringBuilder();
            Thread t = worker;
            if (t != null) {
                for (StackTraceElement el : t.getStackTrace()) {
                    stack.append("\n\tat ").append(el);
                }
            }
            f.cancel(true);
            abandoned = context.get();
            throw new Hang(abandoned + ": no result within " + limit.toMillis() + " ms (hang or endless loop); worker stack:" + stack);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception ex) {
                throw ex;
            }
            if (c instanceof Error er) {
                throw er;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        exec.shutdownNow();
    }
}
