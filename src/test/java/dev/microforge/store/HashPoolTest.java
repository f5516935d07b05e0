package dev.microforge.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parallel narHash: same results whatever the thread count and schedule; a helper joining mid-path changes nothing. */
class HashPoolTest {
    @TempDir
    Path tmp;

    /** A tree of {@code files} files of pseudo-random sizes (some above 1 MiB, so helpers get a chance to join). */
    private Path tree(String name, int files, long seed) throws IOException {
        Path root = Files.createDirectories(tmp.resolve(name));
        Random r = new Random(seed);
        for (int i = 0; i < files; i++) {
            Path d = Files.createDirectories(root.resolve("d" + (i % 4)));
            byte[] b = new byte[r.nextInt(10) == 0 ? (1 << 20) + r.nextInt(3 << 20) : r.nextInt(5000)];
            r.nextBytes(b);
            Files.write(d.resolve("f" + i), b);
        }
        Files.createSymbolicLink(root.resolve("link"), Path.of("d0/f0"));
        return root;
    }

    @Test
    void resultsDoNotDependOnThreadsOrSchedule() throws Exception {
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            paths.add(tree("p" + i, 3 + 6 * i, i));
        }
        List<Nar.Info> sequential = new ArrayList<>();
        for (Path p : paths) {
            sequential.add(Nar.hash(p));
        }
        List<Integer> reversed = new ArrayList<>(HashPool.inOrder(paths.size()));
        java.util.Collections.reverse(reversed);
        for (int threads : new int[] {1, 2, 3, 8}) {
            for (List<Integer> schedule : List.of(HashPool.inOrder(paths.size()), reversed)) {
                List<Nar.Info> got = HashPool.run(schedule, threads, (i, h) -> Nar.hash(paths.get(i), null, Events.NONE, h));
                assertEquals(sequential, got, "threads " + threads + ", schedule " + schedule);
            }
        }
    }

    @Test
    void aHelperThatJoinsMidPathGivesTheSameHash() throws Exception {
        Path big = tree("big", 40, 42);
        Nar.Info expected = Nar.hash(big);
        ReferenceScanner s1 = new ReferenceScanner(List.of("00000000000000000000000000000000"));
        Nar.hash(big, s1, Events.NONE);

        HashPool.Helpers helpers = new HashPool.Helpers(2);
        helpers.leave(); // the second thread has no path of its own: it serves
        Thread helper = new Thread(() -> {
            try {
                helpers.serve();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        helper.start();
        while (!helpers.anyIdle()) {
            Thread.onSpinWait();
        }
        ReferenceScanner s2 = new ReferenceScanner(List.of("00000000000000000000000000000000"));
        Nar.Info got = Nar.hash(big, s2, Events.NONE, helpers);
        helpers.leave();
        helper.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(helper.isAlive());
        assertEquals(1, helpers.lent(), "the idle thread took over the hashing");
        assertEquals(expected, got);
        assertEquals(s1.found(), s2.found());
    }

    @Test
    void theLowestIndexFailureIsReportedWhateverTheThreads() throws Exception {
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            paths.add(tree("q" + i, 12, 100 + i));
        }
        // a FIFO after big files: the walk fails after a helper may have joined; nothing hangs
        for (int i : new int[] {2, 4}) {
            Path fifo = paths.get(i).resolve("zz-fifo");
            new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor();
            assertTrue(Files.exists(fifo));
        }
        for (int threads : new int[] {1, 2, 5}) {
            UserError e = assertThrows(UserError.class,
                    () -> HashPool.run(HashPool.inOrder(paths.size()), threads, (i, h) -> Nar.hash(paths.get(i), null, Events.NONE, h)));
            assertEquals(paths.get(2).resolve("zz-fifo") + ": unsupported file type (FIFO); a NAR holds only regular files, directories and symlinks",
                    e.getMessage());
        }
    }

    /**
     * --threads 1024 on one path took 43 s for a 23 KB file: 1023 idle threads polling for a hash to join. At most two
     * threads per path are started (the owner and one helper); the result is the same.
     */
    @Test
    void threadsAreCappedAtTwoPerPath() throws IOException {
        Path f = Files.writeString(tmp.resolve("one"), "x".repeat(1000));
        int before = hashThreads(); // pools of earlier tests may still be winding down
        int[] seen = new int[1];
        List<Nar.Info> got = HashPool.run(HashPool.inOrder(1), 1024, (i, h) -> {
            seen[0] = hashThreads();
            return Nar.hash(f, null, Events.NONE, h);
        });
        assertTrue(seen[0] - before <= 2, "hash threads started: " + (seen[0] - before));
        assertEquals(Nar.hash(f, null, Events.NONE, null), got.get(0));
    }

    static int hashThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("microforge-hash")).count();
    }
}
