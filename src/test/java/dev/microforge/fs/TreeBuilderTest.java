package dev.microforge.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.store.StorePath;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store scan gives the same tree with any number of threads, and the same clear errors. */
class TreeBuilderTest {
    @TempDir
    Path tmp;

    private List<StorePath> store(Path store, int n) throws Exception {
        List<StorePath> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String hash = String.valueOf((char) ('a' + i)).repeat(32);
            StorePath sp = new StorePath(store.toString(), hash, "p" + i);
            TestTrees.rich(store.resolve(sp.baseName()), 40 + i);
            paths.add(sp);
        }
        return paths;
    }

    @Test
    void sameTreeWhateverThreads() throws Exception {
        Path store = Files.createDirectories(tmp.resolve("store"));
        List<StorePath> paths = store(store, 4);
        // (no generated files: their in-memory bytes compare by identity)
        Map<String, byte[]> extra = Map.of();
        AtomicLong advanced = new AtomicLong();
        Events count = new Events() {
            @Override
            public void advance(long done) {
                advanced.addAndGet(done);
            }
        };
        Dir one = TreeBuilder.fromStore(store, paths, extra, count, 1);
        assertEquals(4, advanced.get());
        for (int threads : new int[] {2, 8}) {
            assertEquals(one, TreeBuilder.fromStore(store, paths, extra, Events.NONE, threads));
        }
        List<StorePath> reversed = new ArrayList<>(paths);
        java.util.Collections.reverse(reversed);
        assertEquals(one, TreeBuilder.fromStore(store, reversed, extra, Events.NONE, 3));
    }

    @Test
    void parallelScanReportsTheBadEntry() throws Exception {
        Path store = Files.createDirectories(tmp.resolve("store"));
        List<StorePath> paths = store(store, 3);
        Path fifo = store.resolve(paths.get(1).baseName()).resolve("a-fifo");
        Exec.ok("mkfifo", fifo.toString());
        for (int threads : new int[] {1, 4}) {
            UserError e = assertThrows(UserError.class, () -> TreeBuilder.fromStore(store, paths, Map.of(), Events.NONE, threads));
            assertTrue(e.getMessage().contains(fifo.toString()) && e.getMessage().contains("unsupported file type"), e.getMessage());
        }
        Files.delete(fifo);
        StorePath missing = new StorePath(store.toString(), "z".repeat(32), "gone");
        List<StorePath> withMissing = new ArrayList<>(paths);
        withMissing.add(missing);
        UserError e = assertThrows(UserError.class, () -> TreeBuilder.fromStore(store, withMissing, Map.of(), Events.NONE, 4));
        assertTrue(e.getMessage().contains("missing on disk"), e.getMessage());
    }
}
