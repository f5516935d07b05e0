package dev.microforge.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class TasksTest {
    private static final ExecutorService POOL = Executors.newSingleThreadExecutor();

    @AfterAll
    static void stop() {
        POOL.shutdownNow();
    }

    private static <T> Future<T> failing(Exception e) {
        return POOL.submit(() -> {
            throw e;
        });
    }

    @Test
    void valueIsReturned() throws IOException {
        assertEquals("x", Tasks.await(CompletableFuture.completedFuture("x")));
        assertEquals(7, Tasks.awaitUnchecked(POOL.submit(() -> 7)));
    }

    @Test
    void userErrorOnAWorkerReachesTheCallerUnchanged() {
        UserError e = new UserError("f: line 3: bad hash");
        assertSame(e, assertThrows(UserError.class, () -> Tasks.await(failing(e))));
        assertSame(e, assertThrows(UserError.class, () -> Tasks.awaitUnchecked(failing(e))));
    }

    @Test
    void ioFailuresComeBackAsIOException() {
        IOException io = new IOException("disk full");
        assertSame(io, assertThrows(IOException.class, () -> Tasks.await(failing(io))));
        assertSame(io, assertThrows(IOException.class, () -> Tasks.await(failing(new UncheckedIOException(io)))));
        assertSame(io, assertThrows(UncheckedIOException.class, () -> Tasks.awaitUnchecked(failing(io))).getCause());
    }

    @Test
    void otherCheckedExceptionsAreWrapped() {
        Exception other = new Exception("odd");
        assertSame(other, assertThrows(IOException.class, () -> Tasks.await(failing(other))).getCause());
    }
}
