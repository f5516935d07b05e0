package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageCommandTestSupport;
import dev.microforge.image.ImageOptions;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.SmallDisk;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that change under the writer's feet (tests run as root, so "unreadable" is simulated honestly: a file
 * removed, turned into a FIFO, grown or shrunk between the scan and the read), and a full disk: a clear error
 * naming the file, and nothing left at the output path.
 */
class SquashfsBadInputTest {
    @TempDir
    Path tmp;

    /** Runs {@code mutation} right after the store has been scanned, then expects the build to fail. */
    private UserError buildWithMutation(Path store, StorePath sp, Path out, IoAction mutation) {
        ClosureGraph g = ClosureGraph.of(store.toString(), "test", List.of(new PathInfo(sp, List.of())));
        Events hook = new Events() {
            @Override
            public void finish(String task) {
                if (task.startsWith("scanning")) {
                    try {
                        mutation.run();
                    } catch (IOException | InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        };
        return assertThrows(UserError.class, () -> ImageBuild.build(g, store, "squashfs",
                ImageOptions.defaults().withThreads(2), Map.of(), out, hook));
    }

    interface IoAction {
        void run() throws IOException, InterruptedException;
    }

    private StorePath storeWith(Path store, byte[] content) throws IOException {
        Files.createDirectories(store);
        StorePath sp = new StorePath(store.toString(), "3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d", "victim");
        Path dir = Files.createDirectories(store.resolve(sp.baseName()));
        Files.write(dir.resolve("file"), content);
        Files.write(dir.resolve("other"), TestTrees.text(9, 5000));
        return sp;
    }

    @Test
    void fileRemovedAfterScan() throws Exception {
        Path store = tmp.resolve("store");
        StorePath sp = storeWith(store, TestTrees.text(1, 300_000));
        Path f = store.resolve(sp.baseName()).resolve("file");
        Path out = tmp.resolve("out.img");
        UserError e = buildWithMutation(store, sp, out, () -> Files.delete(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("vanished"), e.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
    }

    @Test
    void fileTurnedIntoFifoAfterScan() throws Exception {
        Path store = tmp.resolve("store");
        StorePath sp = storeWith(store, TestTrees.text(1, 1000));
        Path f = store.resolve(sp.baseName()).resolve("file");
        Path out = tmp.resolve("out.img");
        UserError e = buildWithMutation(store, sp, out, () -> {
            Files.delete(f);
            Exec.ok("mkfifo", f.toString());
        });
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("no longer a regular file"), e.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
    }

    @Test
    void fileGrowsOrShrinksDuringBuild() throws Exception {
        Path store = tmp.resolve("store");
        StorePath sp = storeWith(store, TestTrees.text(1, 200_000));
        Path f = store.resolve(sp.baseName()).resolve("file");
        Path out = tmp.resolve("out.img");
        UserError grew = buildWithMutation(store, sp, out, () -> Files.write(f, new byte[] {1, 2, 3}, StandardOpenOption.APPEND));
        assertTrue(grew.getMessage().contains(f.toString()) && grew.getMessage().contains("changed size"), grew.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
        UserError shrank = buildWithMutation(store, sp, out, () -> Files.write(f, new byte[10]));
        assertTrue(shrank.getMessage().contains(f.toString()) && shrank.getMessage().contains("changed size"), shrank.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
    }

    @Test
    void readAheadReportsTheFirstBadFileInTreeOrder() throws Exception {
        // "file" is 3 MiB: the read-ahead reads it in 1 MiB chunks on reader threads. It shrinks into its second
        // chunk after the scan, and "other" (later in tree order, a chunk of its own) vanishes: the error is the
        // shrink, with how much was found, whichever reader finishes first
        Path store = tmp.resolve("store");
        StorePath sp = storeWith(store, TestTrees.text(4, 3 << 20));
        Path dir = store.resolve(sp.baseName());
        Path f = dir.resolve("file");
        Path out = tmp.resolve("out.img");
        for (int run = 0; run < 3; run++) {
            Files.write(f, TestTrees.text(4, 3 << 20));
            Files.write(dir.resolve("other"), TestTrees.text(9, 5000));
            UserError e = buildWithMutation(store, sp, out, () -> {
                try (var ch = java.nio.channels.FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.truncate(1_500_000);
                }
                Files.delete(dir.resolve("other"));
            });
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("changed size")
                    && e.getMessage().contains("found only 1500000"), e.getMessage());
            ImageCommandTestSupport.assertNoOutput(out);
        }
    }

    @Test
    void duplicateCandidateChangedBetweenScanAndRead() throws Exception {
        // "file" and "twin" share a size, so the data pass reads them whole and hashes them: a change of size
        // after the scan is still the clean error, for the first and for the second of the pair
        Path store = tmp.resolve("store");
        byte[] content = TestTrees.text(1, 200_000);
        StorePath sp = storeWith(store, content);
        Path f = store.resolve(sp.baseName()).resolve("file");
        Path twin = store.resolve(sp.baseName()).resolve("twin");
        Files.write(twin, content);
        Path out = tmp.resolve("out.img");
        UserError grew = buildWithMutation(store, sp, out, () -> Files.write(f, new byte[] {1}, StandardOpenOption.APPEND));
        assertTrue(grew.getMessage().contains(f.toString()) && grew.getMessage().contains("changed size"), grew.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
        Files.write(f, content);
        UserError shrank = buildWithMutation(store, sp, out, () -> Files.write(twin, new byte[10]));
        assertTrue(shrank.getMessage().contains(twin.toString()) && shrank.getMessage().contains("changed size"),
                shrank.getMessage());
        ImageCommandTestSupport.assertNoOutput(out);
    }

    @Test
    @Tag("oracle")
    void diskFull() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(tmp.resolve("small"), "1m")) {
            Path store = tmp.resolve("store");
            StorePath sp = storeWith(store, TestTrees.random(5, 3 << 20));
            ClosureGraph g = ClosureGraph.of(store.toString(), "test", List.of(new PathInfo(sp, List.of())));
            Path closure = tmp.resolve("closure");
            Files.writeString(closure, sp.path() + "\n\n0\n");
            Path out = disk.path().resolve("out.img");
            Cli.Result r = Cli.run("image", "build", "--type", "squashfs", "--closure", closure.toString(),
                    "--closure-format", "export-references-graph", "--store-dir", store.toString(), "-o", out.toString());
            assertEquals(1, r.exitCode(), r.err());
            assertTrue(r.err().contains(out.toString()) && r.err().contains("No space left on device"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            ImageCommandTestSupport.assertNoOutput(out);
            assertEquals(1, g.size());
        }
    }
}
