package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many store paths that share one hash part (names differ) must read as fast as as many ordinary paths: every reader
 * keys its tables on the whole path. The measure is the ratio of the two read times, not an absolute time.
 */
class SameHashPartTest {
    static final int N = 200_000;
    static final String NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";
    static final String SD = "/nix/store";

    @TempDir
    Path tmp;

    /** A distinct 32-character nix32 hash part for {@code i}, or one fixed hash part for every path when {@code same}. */
    static String hashPart(int i, boolean same) {
        char[] c = new char[32];
        long x = same ? 0x5eed : i * 0x9E3779B97F4A7C15L + 12345;
        for (int k = 0; k < 32; k++) {
            x ^= x >>> 29;
            x *= 0xBF58476D1CE4E5B9L;
            c[k] = NIX32.charAt((int) (x >>> 59));
        }
        return new String(c);
    }

    static String path(int i, boolean same) {
        return SD + "/" + hashPart(i, same) + "-pkg-" + i;
    }

    /** The references of path i: 2i + 1 and 2i + 2 (a binary tree, path 0 the root). */
    static String refs(int i, int n, boolean same, String sep) {
        StringBuilder sb = new StringBuilder();
        for (int c = 2 * i + 1; c <= 2 * i + 2 && c < n; c++) {
            sb.append(c > 2 * i + 1 ? sep : "").append(path(c, same));
        }
        return sb.toString();
    }

    /** exportReferencesGraph of the tree, so every path is also interned as a reference. */
    static Path writeGraph(Path f, int n, boolean same) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.US_ASCII)) {
            for (int i = 0; i < n; i++) {
                int k = Math.max(0, Math.min(n, 2 * i + 3) - (2 * i + 1));
                w.write(path(i, same) + "\n\n" + k + "\n" + (k == 0 ? "" : refs(i, n, same, "\n") + "\n"));
            }
        }
        return f;
    }

    /** nix path-info --json (the list shape), same tree. */
    static Path writeJson(Path f, int n, boolean same) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.US_ASCII)) {
            w.write("[\n");
            for (int i = 0; i < n; i++) {
                w.write((i > 0 ? ",\n" : "") + "{\"path\":\"" + path(i, same) + "\",\"narHash\":\"sha256-"
                        + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\",\"narSize\":" + (i + 1) + ",\"references\":["
                        + (2 * i + 1 < n ? "\"" + refs(i, n, same, "\",\"") + "\"" : "") + "]}");
            }
            w.write("\n]\n");
        }
        return f;
    }

    static long bestOf(int runs, Path f, int n) {
        long best = Long.MAX_VALUE;
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            ClosureGraph g = ClosureReader.read(f, ClosureFormat.AUTO, SD);
            long t = System.nanoTime() - t0;
            assertEquals(n, g.size());
            best = Math.min(best, t);
        }
        return best;
    }

    void ratioBounded(Path ordinary, Path same, int n) {
        // warm up on the ordinary file, then best of three each; the same-hash reads get a hard limit, so the old
        // quadratic reader fails here instead of running for minutes
        bestOf(2, ordinary, n);
        long base = bestOf(3, ordinary, n);
        long limit = Math.max(base * 10, 2_000_000_000L);
        long collide = assertTimeoutPreemptively(Duration.ofNanos(limit * 3 + 5_000_000_000L), () -> bestOf(3, same, n));
        double ratio = (double) collide / base;
        assertTrue(ratio < 3.0, String.format("same hash part: %.1f ms, ordinary: %.1f ms, ratio %.2f",
                collide / 1e6, base / 1e6, ratio));
    }

    @Test
    void lineFormatKeysOnTheWholePath() throws IOException {
        ratioBounded(writeGraph(tmp.resolve("ordinary"), N, false), writeGraph(tmp.resolve("same"), N, true), N);
    }

    @Test
    void pathInfoJsonKeysOnTheWholePath() throws IOException {
        int n = N / 8; // the JSON reader is slower per path; the ratio is what counts
        ratioBounded(writeJson(tmp.resolve("ordinary.json"), n, false), writeJson(tmp.resolve("same.json"), n, true), n);
    }

    @Test
    void closureShowOnSameHashPartPaths() throws IOException {
        Path f = writeGraph(tmp.resolve("same"), N, true);
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> Cli.run("closure", "show", "--closure", f.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith(path(0, true) + " - - closure -\n  " + path(1, true) + "\n  " + path(2, true) + "\n"),
                r.out().substring(0, 300));
        assertTrue(r.out().endsWith("\n" + N + " paths, narSize unknown, roots: " + path(0, true) + "\n"),
                r.out().substring(r.out().length() - 200));
    }
}
