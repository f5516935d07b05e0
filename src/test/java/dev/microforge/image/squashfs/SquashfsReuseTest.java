package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --reuse}: an image built from an earlier image is byte for byte the image built without it, over
 * randomized sequences of closure changes (store paths added, removed, replaced; small files whose tails one
 * fragment block would hold; files identical across store paths and within one), at 1, 2 and 8 threads, for
 * every compressor; a corrupt earlier image (truncated, bit flips in the data, the metadata, the reuse table)
 * still gives that image; bad earlier images are refused with one line; unsquashfs reads the results. When
 * the store path that held the first copy of files that later paths also hold is replaced, the later paths'
 * blocks are found in the earlier image by content and copied, not compressed (also when one of them is corrupt).
 */
class SquashfsReuseTest {
    private static final int BLOCK = 4096;
    /** Contents that several store paths hold (cross-path duplicates). */
    private static final byte[][] SHARED = {TestTrees.random(900, 3 * BLOCK + 17), TestTrees.text(901, 700),
        TestTrees.random(902, 5 * BLOCK)};

    @TempDir
    Path tmp;

    /** A store path's contents, all derived from {@code seed}. */
    private static void storePath(Path dir, long seed) throws IOException {
        Random r = new Random(seed);
        Files.createDirectories(dir.resolve("bin"));
        Files.createDirectories(dir.resolve("share/doc"));
        Files.write(dir.resolve("bin/prog"), r.nextBoolean() ? TestTrees.random(seed, r.nextInt(4 * BLOCK))
                : TestTrees.text(seed, r.nextInt(6 * BLOCK)));
        int small = 1 + r.nextInt(5);
        for (int i = 0; i < small; i++) {
            Files.write(dir.resolve("share/doc/f" + i), TestTrees.text(seed * 31 + i, 1 + r.nextInt(900)));
        }
        if (r.nextInt(3) == 0) {
            Files.write(dir.resolve("share/zeros"), new byte[2 * BLOCK + r.nextInt(100)]);
        }
        if (r.nextInt(2) == 0) {
            Files.write(dir.resolve("share/shared"), SHARED[r.nextInt(SHARED.length)]);
        }
        if (r.nextInt(3) == 0) {
            byte[] twice = TestTrees.random(seed + 7, 1 + r.nextInt(2 * BLOCK));
            Files.write(dir.resolve("bin/copy1"), twice);
            Files.write(dir.resolve("share/copy2"), twice);
        }
        Files.write(dir.resolve("empty"), new byte[0]);
        Files.createSymbolicLink(dir.resolve("link"), Path.of("bin/prog"));
    }

    /** Whether the store path of {@code seed} holds one of {@link #SHARED} (the test's own view of its contents). */
    private boolean holdsShared(long seed) throws IOException {
        Path probe = tmp.resolve("probe");
        storePath(probe, seed);
        boolean holds = Files.exists(probe.resolve("share/shared"));
        deleteTree(probe);
        return holds;
    }

    /** A store directory holding {@code paths} (name to content seed); the narHashes stand for the seeds. */
    private Path store(String name, Map<String, Long> paths) throws IOException {
        Path s = Files.createDirectories(tmp.resolve(name));
        for (Map.Entry<String, Long> e : paths.entrySet()) {
            storePath(s.resolve(e.getKey()), e.getValue());
        }
        return s;
    }

    private static Map<String, String> narHashes(Map<String, Long> paths) {
        Map<String, String> m = new TreeMap<>();
        paths.forEach((n, seed) -> m.put(n, "sha256-content-" + seed));
        return m;
    }

    private static String name(Random r, long seed) {
        String alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b + "-pkg-" + seed;
    }

    private static ImageOptions options(String compression, int threads) {
        return ImageOptions.defaults().withCompression(compression).withBlockSize((long) BLOCK).withThreads(threads)
                .withMtime(0);
    }

    /** Events that keep the info and warning lines (the reuse notes). */
    private static final class Notes implements Events {
        final List<String> lines = new ArrayList<>();

        @Override
        public synchronized void info(String message) {
            lines.add(message);
        }

        @Override
        public synchronized void warn(String message) {
            lines.add(message);
        }
    }

    private Path build(Path store, Map<String, Long> paths, ImageOptions o, Path reuse, String name, Events ev)
            throws IOException {
        Path img = tmp.resolve(name);
        Files.deleteIfExists(img);
        Dir root = (Dir) TreeBuilder.scan(store);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            new SquashfsWriter(o, ev).write(root, ch, null, narHashes(paths), reuse);
        }
        return img;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "xz", "gzip", "lz4", "none"})
    void incrementalEqualsFreshOverRandomChanges(String compression) throws Exception {
        Random r = new Random(compression.hashCode());
        Map<String, Long> paths = new TreeMap<>();
        long nextSeed = 1;
        for (int i = 0; i < 6; i++) {
            long seed = nextSeed++;
            paths.put(name(r, seed), seed);
        }
        int[] threads = {1, 2, 8};
        Path previous = null;
        int copiedTotal = 0;
        long byContentTotal = 0;
        for (int step = 0; step < 7; step++) {
            if (step > 0) {
                List<String> names = new ArrayList<>(paths.keySet());
                switch (step % 4) {
                    case 1 -> { // replace one path (new name, new content): the first holder of a shared file if any
                        String gone = names.get(r.nextInt(names.size()));
                        for (String n : names) {
                            if (holdsShared(paths.get(n))) {
                                gone = n;
                                break;
                            }
                        }
                        paths.remove(gone);
                        long seed = nextSeed++;
                        paths.put(name(r, seed), seed);
                    }
                    case 2 -> { // add two
                        for (int k = 0; k < 2; k++) {
                            long seed = nextSeed++;
                            paths.put(name(r, seed), seed);
                        }
                    }
                    case 3 -> paths.remove(names.get(r.nextInt(names.size()))); // remove one
                    default -> { } // no change
                }
            }
            Path store = store("store" + step, paths);
            int t = threads[step % 3];
            Path fresh = build(store, paths, options(compression, t), null, "fresh" + step + ".img", Events.NONE);
            if (previous != null) {
                Notes notes = new Notes();
                Path inc = build(store, paths, options(compression, threads[(step + 1) % 3]), previous,
                        "inc" + step + ".img", notes);
                assertArrayEquals(Files.readAllBytes(fresh), Files.readAllBytes(inc),
                        "step " + step + " (" + compression + "): " + notes.lines);
                copiedTotal += copied(notes);
                byContentTotal += byContent(notes)[0];
                Files.delete(previous);
                previous = inc;
            } else {
                previous = fresh;
            }
            if (previous != fresh) {
                Files.delete(fresh);
            }
            if (step == 6) {
                // the last incremental result, extracted by unsquashfs, is the store
                Path unsquashfs = Tools.require("unsquashfs");
                Path out = tmp.resolve("out");
                Exec.ok(unsquashfs.toString(), "-no-progress", "-d", out.toString(), previous.toString());
                TreeAssert.sameTree(store, out);
            }
            deleteTree(store);
        }
        assertTrue(copiedTotal >= 20, "store paths copied over the sequence: " + copiedTotal);
        // paths that lost the first holder of a shared file, or that were replaced, copy blocks by content
        assertTrue(byContentTotal > 0, "blocks copied by content over the sequence: " + byContentTotal);
    }

    /** {data blocks copied by content, data blocks compressed}, from the note. */
    private static long[] byContent(Notes notes) {
        for (String l : notes.lines) {
            int at = l.indexOf(" data blocks (");
            if (at > 0 && l.endsWith(" compressed")) {
                long copied = Long.parseLong(l.substring(l.lastIndexOf(": ", at) + 2, at));
                String tail = l.substring(l.indexOf("copied by content, ") + "copied by content, ".length());
                return new long[] {copied, Long.parseLong(tail.substring(0, tail.indexOf(' ')))};
            }
        }
        throw new AssertionError("no content reuse summary in " + notes.lines);
    }

    /** Writes {@code files} (relative path to contents) under {@code dir}. */
    private static void files(Path dir, Map<String, byte[]> files) throws IOException {
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Path f = dir.resolve(e.getKey());
            Files.createDirectories(f.getParent());
            Files.write(f, e.getValue());
        }
    }

    /**
     * OLD: paths a (the first copy of a 5-block file), b and c (duplicates of it; b with 3 blocks of its own).
     * NEW: a replaced by a path without data blocks. b now holds the 5-block file itself and is compressed again
     * (its set of duplicates changed), c still refers to it and is copied: all 8 of b's blocks are found in OLD
     * by content (5 in a's old extent, 3 in b's) and nothing is compressed. A bit flip in OLD's copy of the
     * first shared block makes exactly that block compressed again, and the image is still the fresh one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"zstd", "xz", "gzip", "lz4", "none"})
    void replacedFirstHolderOfDuplicatesIsCopiedByContent(String compression) throws Exception {
        byte[] shared = SHARED[2];
        String a = "0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a";
        String a2 = "0bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-a";
        String b = "1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-b";
        String c = "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-c";
        Path oldStore = Files.createDirectories(tmp.resolve("old-store"));
        files(oldStore.resolve(a), Map.of("shared", shared, "doc", TestTrees.text(1, 300)));
        files(oldStore.resolve(b), Map.of("lib/shared", shared, "own", TestTrees.random(2, 3 * BLOCK)));
        files(oldStore.resolve(c), Map.of("share/shared", shared, "doc", TestTrees.text(3, 200)));
        Map<String, Long> oldPaths = new TreeMap<>(Map.of(a, 1L, b, 2L, c, 3L));
        Path store = Files.createDirectories(tmp.resolve("new-store"));
        files(store.resolve(a2), Map.of("doc", TestTrees.text(4, 500)));
        files(store.resolve(b), Map.of("lib/shared", shared, "own", TestTrees.random(2, 3 * BLOCK)));
        files(store.resolve(c), Map.of("share/shared", shared, "doc", TestTrees.text(3, 200)));
        Map<String, Long> paths = new TreeMap<>(Map.of(a2, 4L, b, 2L, c, 3L));
        for (int t : new int[] {1, 2, 8}) {
            ImageOptions o = options(compression, t);
            Path old = build(oldStore, oldPaths, o, null, "old.img", Events.NONE);
            byte[] fresh = Files.readAllBytes(build(store, paths, o, null, "fresh.img", Events.NONE));
            Notes notes = new Notes();
            assertArrayEquals(fresh, Files.readAllBytes(build(store, paths, o, old, "inc.img", notes)),
                    compression + " " + t + ": " + notes.lines);
            assertEquals(1, copied(notes), notes.lines.toString());
            assertArrayEquals(new long[] {8, 0}, byContent(notes), notes.lines.toString());

            // the first data block of the image is a's first block of the shared file
            byte[] bad = Files.readAllBytes(old);
            bad[Superblock.SIZE + 40] ^= 0x10;
            Files.write(old, bad);
            Notes badNotes = new Notes();
            assertArrayEquals(fresh, Files.readAllBytes(build(store, paths, o, old, "inc.img", badNotes)),
                    compression + " " + t + " corrupt: " + badNotes.lines);
            assertArrayEquals(new long[] {7, 1}, byContent(badNotes), badNotes.lines.toString());
        }
        Path unsquashfs = Tools.require("unsquashfs");
        Path out = tmp.resolve("out");
        Exec.ok(unsquashfs.toString(), "-no-progress", "-d", out.toString(), tmp.resolve("inc.img").toString());
        TreeAssert.sameTree(store, out);
    }

    /** The number of store paths the note says were copied. */
    private static int copied(Notes notes) {
        for (String l : notes.lines) {
            int at = l.indexOf(" store paths with data copied");
            if (at > 0) {
                String head = l.substring(0, at);
                String[] w = head.substring(head.lastIndexOf(": ") + 2).split(" of ");
                return Integer.parseInt(w[0]);
            }
        }
        throw new AssertionError("no reuse summary in " + notes.lines);
    }

    /** A store of 5 paths (one with the shared files) and the same store with one path replaced. */
    private record Pair(Path oldStore, Map<String, Long> oldPaths, Path store, Map<String, Long> paths) {}

    private Pair pair() throws IOException {
        Random r = new Random(42);
        Map<String, Long> a = new TreeMap<>();
        for (long s = 100; s < 105; s++) {
            a.put(name(r, s), s);
        }
        Map<String, Long> b = new TreeMap<>(a);
        b.remove(b.keySet().iterator().next());
        b.put(name(r, 200), 200L);
        return new Pair(store("old-store", a), a, store("new-store", b), b);
    }

    @Test
    void corruptEarlierImagesStillGiveTheFreshImage() throws Exception {
        Pair p = pair();
        ImageOptions o = options("zstd", 2);
        Path old = build(p.oldStore, p.oldPaths, o, null, "old.img", Events.NONE);
        byte[] fresh = Files.readAllBytes(build(p.store, p.paths, o, null, "fresh.img", Events.NONE));
        byte[] good = Files.readAllBytes(old);
        Superblock sb = Superblock.decode(Arrays.copyOf(good, Superblock.SIZE));
        Notes clean = new Notes();
        assertArrayEquals(fresh, Files.readAllBytes(build(p.store, p.paths, o, old, "inc.img", clean)));
        assertEquals(4, copied(clean), clean.lines.toString());

        Map<String, byte[]> corrupt = new TreeMap<>();
        corrupt.put("truncated to bytes used", Arrays.copyOf(good, (int) sb.bytesUsed()));
        corrupt.put("truncated by one byte", Arrays.copyOf(good, good.length - 1));
        corrupt.put("truncated in the data", Arrays.copyOf(good, (int) sb.inodeTableStart() / 2));
        Random r = new Random(7);
        for (int i = 0; i < 12; i++) {
            // data area: between the superblock and the inode table
            corrupt.put("data bit " + i, flip(good, Superblock.SIZE + r.nextInt((int) sb.inodeTableStart() - Superblock.SIZE), r));
        }
        for (int i = 0; i < 4; i++) {
            corrupt.put("metadata bit " + i, flip(good, (int) sb.inodeTableStart()
                    + r.nextInt((int) (sb.bytesUsed() - sb.inodeTableStart())), r));
        }
        long fsEnd = (sb.bytesUsed() + 4095) / 4096 * 4096;
        for (int i = 0; i < 6; i++) {
            corrupt.put("reuse table bit " + i, flip(good, (int) fsEnd + r.nextInt((int) (good.length - fsEnd)), r));
        }
        corrupt.put("superblock bytes used", flip(good, 40, r));
        int dataNotes = 0;
        for (Map.Entry<String, byte[]> e : corrupt.entrySet()) {
            Path bad = tmp.resolve("bad.img");
            Files.write(bad, e.getValue());
            Notes notes = new Notes();
            Path inc = build(p.store, p.paths, o, bad, "inc-bad.img", notes);
            assertArrayEquals(fresh, Files.readAllBytes(inc), e.getKey() + ": " + notes.lines);
            assertTrue(!notes.lines.isEmpty(), e.getKey());
            if (e.getKey().startsWith("data bit")) {
                dataNotes += notes.lines.stream().anyMatch(l -> l.contains("corrupt")) ? 1 : 0;
            }
        }
        // a flip in a copied path's extent is found by its checksum (some flips land in the replaced path's data)
        assertTrue(dataNotes >= 6, "data flips noticed: " + dataNotes);
    }

    private static byte[] flip(byte[] b, int at, Random r) {
        byte[] c = b.clone();
        c[at] ^= (byte) (1 << r.nextInt(8));
        return c;
    }

    @Test
    void otherOptionsReuseNothingAndStillAgree() throws Exception {
        Pair p = pair();
        Path old = build(p.oldStore, p.oldPaths, options("zstd", 2), null, "old.img", Events.NONE);
        ImageOptions gz = options("gzip", 2);
        byte[] fresh = Files.readAllBytes(build(p.store, p.paths, gz, null, "fresh.img", Events.NONE));
        Notes notes = new Notes();
        assertArrayEquals(fresh, Files.readAllBytes(build(p.store, p.paths, gz, old, "inc.img", notes)));
        assertTrue(notes.lines.stream().anyMatch(l -> l.contains("other image options")), notes.lines.toString());
    }

    @Test
    void badEarlierImagesAreRefusedWithOneLine() throws Exception {
        Pair p = pair();
        ImageOptions o = options("zstd", 1);
        UserError missing = assertThrows(UserError.class,
                () -> build(p.store, p.paths, o, tmp.resolve("nope.img"), "x.img", Events.NONE));
        assertTrue(missing.getMessage().contains("nope.img") && missing.getMessage().contains("does not exist"),
                missing.getMessage());
        Path junk = tmp.resolve("junk.img");
        Files.write(junk, TestTrees.random(5, 10000));
        UserError notImage = assertThrows(UserError.class, () -> build(p.store, p.paths, o, junk, "y.img", Events.NONE));
        assertTrue(notImage.getMessage().contains("not a SquashFS image"), notImage.getMessage());
        Path erofs = tmp.resolve("erofs.img");
        ImageBuild.fromDirectory(p.oldStore, "erofs", ImageOptions.defaults().withThreads(1).withMtime(0), erofs);
        UserError other = assertThrows(UserError.class, () -> build(p.store, p.paths, o, erofs, "z.img", Events.NONE));
        assertTrue(other.getMessage().contains("not a SquashFS image"), other.getMessage());
        for (String m : List.of(missing.getMessage(), notImage.getMessage(), other.getMessage())) {
            assertTrue(!m.contains("\n"), m);
        }
    }
}
