package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.fail;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.testkit.Bounded;
import dev.microforge.testkit.TestTrees;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bounded mutation fuzzer for the reader: valid images of every compressor, mutated (bit flips, random
 * bytes, overwritten ranges, truncation, splices) and read completely. The reader must either read the
 * image or throw {@link CorruptImageException}: no other exception, no hang (each case runs on a worker thread
 * with a deadline, {@link Bounded}: a loop that ignores interrupts fails the test instead of stalling the build),
 * no unbounded allocation (the JVM heap limit would fail the test). Runs for about 20 seconds
 * ({@code -Dmicroforge.fuzz.seconds=S}); every failure names the seed, which {@code -Dmicroforge.fuzz.seed=N} replays.
 */
class SquashfsFuzzTest {
    private static final long BUDGET_NANOS = Long.getLong("microforge.fuzz.seconds", 20) * 1_000_000_000L;
    /** Per file, read at most this much (a valid sparse file may legitimately be huge). */
    private static final long READ_CAP = 8 << 20;
    /** Per case (one mutant read completely): generous, for a machine shared with other builds. */
    private static final Duration CASE_LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void mutatedImagesAreReadOrRejected() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("a"), TestTrees.text(1, 20_000));
        Files.write(src.resolve("b"), TestTrees.text(2, 300));
        Files.write(src.resolve("c"), TestTrees.random(3, 9000));
        Files.createDirectories(src.resolve("d/e"));
        Files.createSymbolicLink(src.resolve("d/link"), Path.of("../a"));
        Files.write(src.resolve("d/e/zeros"), new byte[12_000]);
        for (int i = 0; i < 300; i++) {
            Files.writeString(src.resolve("d/n" + i), "x" + i);
        }
        for (String c : new String[] {"zstd", "xz", "gzip", "lz4", "none"}) {
            Path img = tmp.resolve(c + ".img");
            ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression(c).withBlockSize(4096L).withThreads(1), img);
            seeds.add(Files.readAllBytes(img));
        }
        long seed = Long.getLong("microforge.fuzz.seed", System.nanoTime());
        System.out.println("fuzz seed " + seed);
        Random r = new Random(seed);
        long deadline = System.nanoTime() + BUDGET_NANOS;
        int runs = 0;
        try (Bounded worker = new Bounded("squashfs-fuzz")) {
            while (System.nanoTime() < deadline) {
                byte[] base = seeds.get(r.nextInt(seeds.size()));
                byte[] img = mutate(base, r);
                runs++;
                int run = runs;
                try {
                    worker.call(CASE_LIMIT, () -> "mutated image (seed " + seed + ", run " + run + ", saved at " + save(img) + ")", () -> {
                        try (ImageFs fs = SquashfsReader.open(img)) {
                            walk(fs.root(), 0);
                        } catch (CorruptImageException expected) {
                            // rejected: fine
                        }
                        return null;
                    });
                } catch (Bounded.Hang h) {
                    throw h;
                } catch (Throwable t) {
                    throw new AssertionError("reader threw " + t + " on a mutated image (seed " + seed + ", run " + runs
                            + ", saved at " + save(img) + ")", t);
                }
            }
        }
        System.out.println("fuzz runs " + runs);
        if (runs < 50) {
            fail("too few fuzz runs: " + runs + " (seed " + seed + ")");
        }
    }

    private Path save(byte[] img) {
        try {
            return Files.write(tmp.resolve("crash.img"), img);
        } catch (IOException e) {
            return Path.of("(not saved: " + e.getMessage() + ")");
        }
    }

    static byte[] mutate(byte[] base, Random r) {
        byte[] b = base.clone();
        int kind = r.nextInt(6);
        int n = 1 + r.nextInt(8);
        switch (kind) {
            case 0 -> { // bit flips anywhere
                for (int i = 0; i < n; i++) {
                    int p = r.nextInt(b.length);
                    b[p] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> { // bytes in the superblock
                for (int i = 0; i < n; i++) {
                    b[r.nextInt(96)] = (byte) r.nextInt(256);
                }
            }
            case 2 -> { // bytes in the metadata at the end (inodes, directories, tables)
                int from = Math.max(0, b.length - 8192 - r.nextInt(16384));
                for (int i = 0; i < n; i++) {
                    b[from + r.nextInt(b.length - from)] = (byte) r.nextInt(256);
                }
            }
            case 3 -> { // truncation
                return java.util.Arrays.copyOf(b, r.nextInt(b.length));
            }
            case 4 -> { // overwrite a range with interesting values
                int p = r.nextInt(b.length);
                int len = Math.min(b.length - p, 1 + r.nextInt(16));
                byte v = new byte[] {0, (byte) 0xff, (byte) 0x7f, (byte) 0x80, 1}[r.nextInt(5)];
                java.util.Arrays.fill(b, p, p + len, v);
            }
            default -> { // copy a range elsewhere
                int len = 1 + r.nextInt(64);
                int from = r.nextInt(Math.max(1, b.length - len));
                int to = r.nextInt(Math.max(1, b.length - len));
                System.arraycopy(base, from, b, to, Math.min(len, b.length - to));
            }
        }
        return b;
    }

    static void walk(ImageFs.Node n, int depth) throws IOException {
        if (depth > 100) {
            throw new AssertionError("directory depth over 100 in a mutated image: cycle not detected");
        }
        n.mode();
        if (n instanceof ImageFs.DirNode d) {
            for (ImageFs.Child c : d.children()) {
                walk(c.node(), depth + 1);
            }
        } else if (n instanceof ImageFs.FileNode f) {
            try (InputStream in = f.open()) {
                byte[] buf = new byte[65536];
                long total = 0;
                int k;
                while (total < READ_CAP && (k = in.read(buf)) > 0) {
                    total += k;
                }
            }
        } else if (n instanceof ImageFs.LinkNode l) {
            l.target();
        }
    }
}
