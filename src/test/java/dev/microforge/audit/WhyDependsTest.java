package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link WhyDepends} on hand-made graphs (the comparison with Nix itself: AuditWhyOracleTest). */
class WhyDependsTest {
    @Test
    void diamondHasTwoShortestChainsAndTheLongOneOnlyUnderAll() {
        ClosureGraph g = new TestGraphs.B()
                .path("top-1", 10, "a-1", "b-1", "c-1")
                .path("a-1", 10, "z-1")
                .path("b-1", 10, "z-1")
                .path("c-1", 10, "d-1")
                .path("d-1", 10, "z-1")
                .path("z-1", 10, "z-1")
                .build();
        int top = WhyDepends.resolve(g, "top-1", "PATH");
        int z = WhyDepends.resolve(g, "z-1", "DEPENDENCY");
        String shortest = WhyDepends.render(g, top, z, false, false, null, 100);
        assertEquals(2, shortest.lines().filter(l -> l.endsWith("-z-1")).count(), shortest);
        assertTrue(shortest.endsWith("2 shortest chains, 2 references long\n"), shortest);
        assertTrue(!shortest.contains("-d-1"), shortest);
        String all = WhyDepends.render(g, top, z, true, false, null, 100);
        assertEquals(3, all.lines().filter(l -> l.endsWith("-z-1")).count(), all);
        assertTrue(all.contains("-d-1"), all);
        // at most --limit chains, and the count line says so
        String one = WhyDepends.render(g, top, z, false, false, null, 1);
        assertEquals(1, one.lines().filter(l -> l.endsWith("-z-1")).count(), one);
        assertTrue(one.endsWith("first 1 of more than 1 shortest chains, 2 references long\n"), one);
    }

    @Test
    void aChainThousandsDeepIsDrawnWithoutRecursion() {
        TestGraphs.B b = new TestGraphs.B();
        int depth = 3000;
        for (int i = 0; i < depth; i++) {
            b.path("p" + i + "-1", 1, "p" + (i + 1) + "-1");
        }
        b.path("p" + depth + "-1", 1);
        ClosureGraph g = b.build();
        int from = WhyDepends.resolve(g, "p0-1", "PATH");
        int to = WhyDepends.resolve(g, "p" + depth + "-1", "DEPENDENCY");
        for (boolean all : List.of(false, true)) {
            String out = WhyDepends.render(g, from, to, all, false, null, 100);
            List<String> lines = out.lines().toList();
            assertEquals(depth + 1 + (all ? 0 : 1), lines.size());
            assertEquals("    ".repeat(depth - 1) + "└───" + g.pathString(to), lines.get(depth));
        }
    }

    /** A store path {@code top-1} referring to {@code z-1}, with its files on disk under {@code store}. */
    static ClosureGraph topAndZ() {
        return new TestGraphs.B().path("top-1", 10, "z-1").path("z-1", 10).build();
    }

    static String precise(ClosureGraph g, Path store) {
        return WhyDepends.render(g, WhyDepends.resolve(g, "top-1", "PATH"), WhyDepends.resolve(g, "z-1", "DEPENDENCY"),
                false, true, store, 100);
    }

    /** File names and link targets with control bytes are escaped in the hit lines, never printed raw. */
    @Test
    void preciseEscapesFileNamesAndLinkTargets(@TempDir Path store) throws Exception {
        ClosureGraph g = topAndZ();
        String zHash = TestGraphs.sp("z-1").hashPart();
        Path top = Files.createDirectories(store.resolve(TestGraphs.sp("top-1").baseName()));
        Files.writeString(top.resolve("a\nb\u001b[31m"), "x" + zHash + "y");
        Files.createSymbolicLink(top.resolve("l\tk"), Path.of("/nix/store/" + zHash + "-z-1/\u0007bin"));
        String out = precise(g, store);
        assertTrue(out.contains("a\\nb\\e[31m: …x" + zHash + "y…\n"), out);
        assertTrue(out.contains("l\\tk -> /nix/store/" + zHash + "-z-1/\\x07bin\n"), out);
        assertTrue(out.chars().noneMatch(c -> c < 0x20 && c != '\n'), out);
    }

    /**
     * A tree 1500 directories deep is walked with a 256 KiB thread stack (the walk is iterative), and a hash that
     * straddles a read chunk's end, one deep in a file beyond 2 GiB (sparse) and one at a file's very start are found
     * with the 32 bytes of context Nix shows.
     */
    @Test
    void preciseWalksDeepTreesAndScansBigFilesInChunks(@TempDir Path store) throws Exception {
        ClosureGraph g = topAndZ();
        String zHash = TestGraphs.sp("z-1").hashPart();
        Path top = Files.createDirectories(store.resolve(TestGraphs.sp("top-1").baseName()));
        Path deep = top;
        for (int i = 0; i < 1500; i++) {
            deep = deep.resolve("d");
        }
        Files.createDirectories(deep);
        Files.writeString(deep.resolve("f"), zHash + "-tail");

        byte[] chunked = new byte[WhyDepends.CHUNK + 100];
        java.util.Arrays.fill(chunked, (byte) 'a');
        byte[] h = zHash.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(h, 0, chunked, WhyDepends.CHUNK - 7, h.length);
        Files.write(top.resolve("e-straddle"), chunked);

        long at = (1L << 31) + 12345;
        try (var ch = java.nio.channels.FileChannel.open(top.resolve("g-big"), java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(("<" + zHash + ">").getBytes(java.nio.charset.StandardCharsets.US_ASCII)), at);
        }

        String[] out = new String[1];
        Throwable[] err = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                out[0] = precise(g, store);
            } catch (Throwable e) {
                err[0] = e;
            }
        }, "small-stack", 256 << 10);
        t.start();
        t.join();
        if (err[0] != null) {
            throw new AssertionError(err[0]);
        }
        String deepRel = "d/".repeat(1500) + "f";
        List<String> hits = out[0].lines().filter(l -> l.contains(": …")).map(l -> l.substring(4)).toList();
        assertEquals(List.of(
                deepRel + ": …" + zHash + "-tail…",
                "e-straddle: …" + "a".repeat(32) + zHash + "a".repeat(32) + "…",
                "g-big: …" + ".".repeat(31) + "<" + zHash + ">" + "…"), hits, out[0]);
    }
}
