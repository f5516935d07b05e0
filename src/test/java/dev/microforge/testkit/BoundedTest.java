package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A loop that ignores interrupts fails the test within the limit, with the context and where it hangs. */
class BoundedTest {
    static volatile boolean release;

    /** Spins until released; interrupts do not stop it (as a reader bug would not). */
    static int spinIgnoringInterrupts() {
        long n = 0;
        while (!release) {
            n++;
            Thread.interrupted();
        }
        return (int) n;
    }

    @Test
    void aHangIsAbandonedAndNamed() throws Exception {
        release = false;
        try (Bounded b = new Bounded("test")) {
            long t0 = System.nanoTime();
            Bounded.Hang e = assertThrows(Bounded.Hang.class,
                    () -> b.call(Duration.ofMillis(300), () -> "seed 42, run 7", BoundedTest::spinIgnoringInterrupts));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5_000, "failed after " + ms + " ms");
            assertTrue(e.getMessage().startsWith("seed 42, run 7: no result within 300 ms"), e.getMessage());
            assertTrue(e.getMessage().contains("BoundedTest.spinIgnoringInterrupts"), e.getMessage());
            Bounded.Hang again = assertThrows(Bounded.Hang.class, () -> b.call(Duration.ofSeconds(1), () -> "next", () -> 1));
            assertTrue(again.getMessage().contains("seed 42, run 7"), again.getMessage());
        } finally {
            release = true;
        }
    }

    @Test
    void resultsAndExceptionsPassThrough() throws Exception {
        try (Bounded b = new Bounded("test")) {
            assertEquals(5, b.call(Duration.ofSeconds(10), () -> "x", () -> 5));
            IOException io = new IOException("corrupt");
            assertSame(io, assertThrows(IOException.class, () -> b.call(Duration.ofSeconds(10), () -> "x", () -> {
                throw io;
            })));
            AssertionError failed = new AssertionError("a check in the task");
            assertSame(failed, assertThrows(AssertionError.class, () -> b.call(Duration.ofSeconds(10), () -> "x", () -> {
                throw failed;
            })));
            StackOverflowError so = new StackOverflowError();
            assertSame(so, assertThrows(StackOverflowError.class, () -> b.call(Duration.ofSeconds(10), () -> "x", () -> {
                throw so;
            })));
        }
    }
}
