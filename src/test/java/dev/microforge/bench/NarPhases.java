package dev.microforge.bench;

import dev.microforge.store.Nar;
import dev.microforge.store.ReferenceScanner;
import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits narHash work into its phases, in one JVM after a warm-up round, measured in CPU time of the working
 * thread (meaningful on a shared machine): serializing (walk, read, NAR framing into a null sink), + SHA-256,
 * + reference scan, + both. {@code java -cp target/test-classes:target/microforge.jar dev.microforge.bench.NarPhases PATHS-FILE}
 */
public final class NarPhases {
    private NarPhases() {}

    static final ThreadMXBean TM = ManagementFactory.getThreadMXBean();

    interface Phase {
        long run(Path p) throws Exception;
    }

    static final OutputStream NULL = new OutputStream() {
        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] b, int off, int len) {}
    };

    public static void main(String[] args) throws Exception {
        List<Path> paths = new ArrayList<>();
        List<StorePath> cands = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of(args[0]))) {
            if (!l.isBlank()) {
                paths.add(Path.of(l));
                cands.add(StorePath.parse("/nix/store", l));
            }
        }
        List<String> hashes = ReferenceScanner.hashPartsOf(cands);
        Phase serialize = p -> Nar.dump(p, NULL);
        Phase scan = p -> Nar.dump(p, new ReferenceScanner(hashes));
        Phase hash = p -> Nar.hash(p).narSize();
        Phase both = p -> Nar.hash(p, new ReferenceScanner(hashes), Events.NONE).narSize();
        String[] names = {"serialize", "serialize+sha256", "serialize+scan", "serialize+sha256+scan"};
        Phase[] phases = {serialize, hash, scan, both};
        long[] best = new long[phases.length];
        java.util.Arrays.fill(best, Long.MAX_VALUE);
        long bytes = 0;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < phases.length; i++) {
                long t0 = TM.getCurrentThreadCpuTime();
                long n = 0;
                for (Path p : paths) {
                    n += phases[i].run(p);
                }
                long t = TM.getCurrentThreadCpuTime() - t0;
                if (round > 0) {
                    best[i] = Math.min(best[i], t);
                }
                bytes = n;
            }
        }
        System.out.printf("NAR bytes %d; CPU time of the working thread, best of 2 rounds after a warm-up round%n", bytes);
        for (int i = 0; i < phases.length; i++) {
            System.out.printf("  %-24s %7.3f s  %6d MiB/s%n", names[i], best[i] / 1e9, (long) (bytes * 1e9 / best[i] / 1048576));
        }
        double sha = (best[1] - best[0]) / 1e9;
        double sc = (best[2] - best[0]) / 1e9;
        System.out.printf("  sha256 alone ~%.3f s (%d MiB/s); reference scan alone ~%.3f s (%d MiB/s); scan/sha256 = %.2f%n",
                sha, (long) (bytes / sha / 1048576), sc, (long) (bytes / Math.max(sc, 1e-9) / 1048576), sc / sha);
    }
}
