package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.Extract;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.StoreFixture;
import dev.microforge.image.TreeAssert;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.image.erofs.ErofsWriter.Options;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code --reuse} for EROFS: an image built from an earlier image is byte for byte the image built without it,
 * over randomized sequences of closure changes (store paths added, removed, replaced; small files whose tails
 * share the packed inode; files identical across store paths and within one), at 1, 2 and 8 threads, for every
 * compressor with and without tail packing, fragments and big pclusters; a corrupt earlier image (truncated, bit
 * flips in the data, the metadata, the reuse table, the superblock) still gives that image; bad earlier images
 * are refused with one line; our reader and fsck.erofs (lz4 family) read the results.
 */
class ErofsReuseTest {
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
                : TestTrees.text(seed, r.nextInt(40 * BLOCK)));
        int small = 1 + r.nextInt(5);
        for (int i = 0; i < small; i++) {
            Files.write(dir.resolve("share/doc/f" + i), TestTrees.text(seed * 31 + i, 1 + r.nextInt(3 * BLOCK)));
        }
        if (r.nextInt(3) == 0) {
            Files.write(dir.resolve("share/zeros"), new byte[2 * BLOCK + r.nextInt(100)]);
        }
        if (r.nextInt(2) == 0) {
            Files.write(dir.resolve("share/shared"), SHARED[r.nextInt(SHARED.length)]);
        }
        if (r.nextInt(3) == 0) {
            byte[] twice = TestTrees.random(seed + 7, BLOCK + r.nextInt(2 * BLOCK));
            Files.write(dir.resolve("bin/copy1"), twice);
            Files.write(dir.resolve("share/copy2"), twice);
        }
        Files.write(dir.resolve("empty"), new byte[0]);
        Files.createSymbolicLink(dir.resolve("link"), Path.of("bin/prog"));
    }

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

    private static Options options(String compression, int pcluster, boolean ztail, boolean frags, int threads) {
        Compression c = Compression.parse(compression);
        return new Options(c, c.defaultLevel(), pcluster, "nix-store", null, threads, 0, true, ztail, frags);
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

    private Path build(Path store, Map<String, Long> paths, Options o, Path reuse, String name, Events ev) throws IOException {
        Path img = tmp.resolve(name);
        Files.deleteIfExists(img);
        Dir root = (Dir) TreeBuilder.scan(store);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ErofsWriter.write(root, ch, o, ev, narHashes(paths), reuse);
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

    @ParameterizedTest(name = "{0} pcluster {1} tail-packing {2} fragments {3}")
    @CsvSource({
        "lz4hc, 4096, false, false",
        "lz4hc, 4096, true, true",
        "lz4hc, 65536, true, true",
        "lz4, 4096, false, false",
        "lz4, 16384, false, true",
        "none, 4096, false, false",
        "zstd, 4096, false, false",
        "zstd, 131072, true, true",
        "lzma, 65536, false, true",
        "lzma, 4096, true, false",
        "deflate, 4096, true, true",
        "deflate, 32768, false, false",
    })
    void incrementalEqualsFreshOverRandomChanges(String compression, int pcluster, boolean ztail, boolean frags) throws Exception {
        Random r = new Random((compression + pcluster + ztail + frags).hashCode());
        Map<String, Long> paths = new TreeMap<>();
        long nextSeed = 1;
        for (int i = 0; i < 5; i++) {
            long seed = nextSeed++;
            paths.put(name(r, seed), seed);
        }
        int[] threads = {1, 2, 8};
        Path previous = null;
        int copiedTotal = 0;
        for (int step = 0; step < 6; step++) {
            if (step > 0) {
                List<String> names = new ArrayList<>(paths.keySet());
                switch (step % 4) {
                    case 1 -> { // replace one path (new name, new content)
                        paths.remove(names.get(r.nextInt(names.size())));
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
            Path fresh = build(store, paths, options(compression, pcluster, ztail, frags, t), null, "fresh" + step + ".img", Events.NONE);
            if (previous != null) {
                Notes notes = new Notes();
                Path inc = build(store, paths, options(compression, pcluster, ztail, frags, threads[(step + 1) % 3]), previous,
                        "inc" + step + ".img", notes);
                assertArrayEquals(Files.readAllBytes(fresh), Files.readAllBytes(inc), "step " + step + ": " + notes.lines);
                copiedTotal += copied(notes);
                Files.delete(previous);
                previous = inc;
            } else {
                previous = fresh;
            }
            if (previous != fresh) {
                Files.delete(fresh);
            }
            if (step == 5) {
                // the last incremental result, extracted by our reader, is the store
                Path out = tmp.resolve("out");
                try (ErofsReader fs = ErofsReader.open(previous)) {
                    Extract.extract(fs, out, Events.NONE);
                }
                TreeAssert.sameTree(store, out);
                if (!frags && (compression.equals("lz4") || compression.equals("lz4hc") || compression.equals("none"))) {
                    // fsck.erofs 1.5 reads the lz4 family without fragments (ErofsOracleTest)
                    Path fsck = Tools.require("fsck.erofs");
                    Path x = tmp.resolve("fsck-out");
                    Exec.ok(fsck.toString(), "--extract=" + x, previous.toString());
                    TreeAssert.sameTree(store, x);
                }
            }
            deleteTree(store);
        }
        assertTrue(copiedTotal >= 15, "store paths copied over the sequence: " + copiedTotal);
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

    /** A store of 5 paths and the same store with one path replaced. */
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

    @ParameterizedTest
    @CsvSource({"lz4hc, 4096, true, true", "none, 4096, false, false"})
    void corruptEarlierImagesStillGiveTheFreshImage(String compression, int pcluster, boolean ztail, boolean frags) throws Exception {
        Pair p = pair();
        Options o = options(compression, pcluster, ztail, frags, 2);
        Path old = build(p.oldStore, p.oldPaths, o, null, "old.img", Events.NONE);
        byte[] fresh = Files.readAllBytes(build(p.store, p.paths, o, null, "fresh.img", Events.NONE));
        byte[] good = Files.readAllBytes(old);
        ByteBuffer sb = ByteBuffer.wrap(good, 1024, 128).order(ByteOrder.LITTLE_ENDIAN);
        long blocks = sb.getInt(1024 + 36) & 0xFFFFFFFFL;
        long metaBlk = sb.getInt(1024 + 40) & 0xFFFFFFFFL;
        long fsEnd = blocks * BLOCK;
        Notes clean = new Notes();
        assertArrayEquals(fresh, Files.readAllBytes(build(p.store, p.paths, o, old, "inc.img", clean)));
        assertEquals(4, copied(clean), clean.lines.toString());

        Map<String, byte[]> corrupt = new TreeMap<>();
        corrupt.put("truncated to the file system", Arrays.copyOf(good, (int) fsEnd));
        corrupt.put("truncated by one byte", Arrays.copyOf(good, good.length - 1));
        corrupt.put("truncated in the data", Arrays.copyOf(good, (int) metaBlk * BLOCK / 2));
        Random r = new Random(7);
        for (int i = 0; i < 12; i++) {
            corrupt.put("data bit " + i, flip(good, BLOCK + r.nextInt((int) (metaBlk - 1) * BLOCK), r));
        }
        for (int i = 0; i < 8; i++) {
            corrupt.put("metadata bit " + i, flip(good, (int) metaBlk * BLOCK + r.nextInt((int) (fsEnd - metaBlk * BLOCK)), r));
        }
        for (int i = 0; i < 6; i++) {
            corrupt.put("reuse table bit " + i, flip(good, (int) fsEnd + r.nextInt((int) (good.length - fsEnd)), r));
        }
        corrupt.put("superblock block count", flip(good, 1024 + 36, r));
        corrupt.put("superblock meta_blkaddr", flip(good, 1024 + 40, r));
        corrupt.put("superblock magic", flip(good, 1024, r));
        int dataNotes = 0;
        for (Map.Entry<String, byte[]> e : corrupt.entrySet()) {
            Path bad = tmp.resolve("bad.img");
            Files.write(bad, e.getValue());
            Notes notes = new Notes();
            Path inc;
            try {
                inc = build(p.store, p.paths, o, bad, "inc-bad.img", notes);
            } catch (UserError u) {
                // only a wrong magic makes the earlier image no EROFS image at all: one line
                assertTrue(e.getKey().equals("superblock magic") && u.getMessage().contains("not an EROFS image")
                        && !u.getMessage().contains("\n"), e.getKey() + ": " + u.getMessage());
                continue;
            }
            assertArrayEquals(fresh, Files.readAllBytes(inc), e.getKey() + ": " + notes.lines);
            assertTrue(!notes.lines.isEmpty(), e.getKey());
            if (e.getKey().startsWith("data bit")) {
                dataNotes += notes.lines.stream().anyMatch(l -> l.contains("corrupt")) ? 1 : 0;
            }
        }
        // a flip in a copied path's extent is found by its checksum (some flips land in the replaced path's data)
        assertTrue(dataNotes >= 6, "data flips noticed: " + dataNotes);
    }

    /**
     * Copied extents are checked as they are copied: flips in one store path's data extent and in another's
     * part of the packed inode make the writer discard its first pass and compress those two again; the image is
     * the fresh one and the notes are the second pass's alone (one warning per path, one summary).
     */
    @ParameterizedTest
    @CsvSource({"lz4hc, 4096, true, true, 1", "lz4hc, 4096, true, true, 8", "none, 4096, false, false, 2"})
    void aCopyThatFailsItsChecksumIsCompressedAgainWithOneNote(String compression, int pcluster, boolean ztail, boolean frags,
            int threads) throws Exception {
        Pair p = pair();
        Options o = options(compression, pcluster, ztail, frags, threads);
        Path old = build(p.oldStore, p.oldPaths, o, null, "old.img", Events.NONE);
        byte[] fresh = Files.readAllBytes(build(p.store, p.paths, o, null, "fresh.img", Events.NONE));
        byte[] good = Files.readAllBytes(old);
        long fsEnd = (ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(1024 + 36) & 0xFFFFFFFFL) * BLOCK;
        ErofsReuse.Table t;
        try (FileChannel ch = FileChannel.open(old)) {
            t = ErofsReuse.read(ch, fsEnd, new String[1]);
        }
        Map<String, String> kept = narHashes(p.paths);
        List<ErofsReuse.Group> copied = new ArrayList<>();
        for (ErofsReuse.Group g : t.groups()) {
            String[] k = g.key().split(" ");
            if (k.length == 2 && k[1].equals(kept.get(k[0])) && g.dataBlocks() > 0) {
                copied.add(g);
            }
        }
        ErofsReuse.Group a = copied.get(0);
        ErofsReuse.Group b = copied.stream().filter(g -> g != a && (!frags || g.partBlocks() > 0)).findFirst().orElseThrow();
        Random r = new Random(11);
        byte[] bad = flip(good, (int) ((a.dataStart() + a.dataBlocks() / 2) * BLOCK + r.nextInt(BLOCK)), r);
        long bBlock = frags ? b.partBlock() + b.partBlocks() - 1 : b.dataStart();
        bad = flip(bad, (int) (bBlock * BLOCK + r.nextInt(BLOCK)), r);
        Path badImg = tmp.resolve("bad.img");
        Files.write(badImg, bad);
        Notes notes = new Notes();
        Path inc = build(p.store, p.paths, o, badImg, "inc.img", notes);
        assertArrayEquals(fresh, Files.readAllBytes(inc));
        List<String> want = new ArrayList<>();
        for (ErofsReuse.Group g : t.groups()) {
            if (g == a || g == b) {
                want.add(badImg + ": " + g.key().split(" ")[0] + ": data differs from its checksum (corrupt); compressed again");
            }
        }
        want.add(badImg + ": " + (copied.size() - 2) + " of " + p.paths.size() + " store paths with data copied, "
                + (p.paths.size() - copied.size() + 2) + " compressed");
        assertEquals(want, notes.lines);
    }

    private static byte[] flip(byte[] b, int at, Random r) {
        byte[] c = b.clone();
        c[at] ^= (byte) (1 << r.nextInt(8));
        return c;
    }

    /**
     * Uncompressed dedupe of files of several 1 MiB segments across and within store paths: the duplicate's
     * blocks are written, then given back; its path's checksum must not count them, or the path would look
     * corrupt to the next build.
     */
    @Test
    void multiSegmentDuplicatesAreCopiedWithoutWarnings() throws Exception {
        byte[] big = TestTrees.random(77, (5 << 20) / 2 + 123);
        Map<String, Long> paths = new TreeMap<>();
        Random r = new Random(9);
        for (long seed = 300; seed < 304; seed++) {
            paths.put(name(r, seed), seed);
        }
        Path s1 = store("dup-old", paths);
        for (String n : paths.keySet()) {
            Files.write(s1.resolve(n).resolve("share/big"), big);
        }
        Files.write(s1.resolve(paths.keySet().iterator().next()).resolve("share/big2"), big);
        Options o = options("none", 4096, false, false, 2);
        Path old = build(s1, paths, o, null, "dup-old.img", Events.NONE);
        Notes notes = new Notes();
        Path inc = build(s1, paths, o.withThreads(8), old, "dup-inc.img", notes);
        assertArrayEquals(Files.readAllBytes(old), Files.readAllBytes(inc), notes.lines.toString());
        assertEquals(List.of(old + ": 4 of 4 store paths with data copied, 0 compressed"), notes.lines);
    }

    /** The CRC32C of a concatenation from its parts' (what a store path's extent CRC is built from). */
    @Test
    void crc32cCombineEqualsTheConcatenationsCrc() {
        Random r = new Random(3);
        for (int len : new int[] {0, 1, 2, 3, 5, 7, 8, 255, 256, 4096, 4097, 65537, 1 << 20, (1 << 20) + 12345, 3 << 21}) {
            byte[] a = TestTrees.random(r.nextInt(1000), r.nextInt(5000));
            byte[] b = TestTrees.random(r.nextInt(1000) + 1000, len);
            java.util.zip.CRC32C ca = new java.util.zip.CRC32C();
            ca.update(a);
            java.util.zip.CRC32C cb = new java.util.zip.CRC32C();
            cb.update(b);
            java.util.zip.CRC32C all = new java.util.zip.CRC32C();
            all.update(a);
            all.update(b);
            assertEquals(all.getValue(), ErofsReuse.crc32cCombine(ca.getValue(), cb.getValue(), len), "len " + len);
        }
    }

    /**
     * Lengths past what a test can hash: combining is associative (A+B then C equals A then B+C, whatever the
     * CRC values), which ties every power of the table to the small ones checked against CRC32C above.
     */
    @Test
    void crc32cCombineIsAssociativeForLongLengths() {
        Random r = new Random(5);
        for (int k = 0; k < 200; k++) {
            long a = r.nextInt() & 0xFFFFFFFFL;
            long b = r.nextInt() & 0xFFFFFFFFL;
            long c = r.nextInt() & 0xFFFFFFFFL;
            long lb = ((r.nextLong() >>> 2) >>> r.nextInt(62)) + 1;
            long lc = ((r.nextLong() >>> 2) >>> r.nextInt(62)) + 1;
            long lhs = ErofsReuse.crc32cCombine(ErofsReuse.crc32cCombine(a, b, lb), c, lc);
            long rhs = ErofsReuse.crc32cCombine(a, ErofsReuse.crc32cCombine(b, c, lc), lb + lc);
            assertEquals(lhs, rhs, "lengths " + lb + " and " + lc);
        }
    }

    /** Through the CLI: --reuse of a changed closure gives the fresh image, and image verify passes on it. */
    @Test
    void cliReuseThenVerify() throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 4);
        String[] opts = {"--type", "erofs", "--compression", "lz4hc", "--tail-packing", "--fragments", "--threads", "2"};
        Path old = tmp.resolve("old.erofs");
        Cli.Result r = Cli.run(cat(new String[] {"image", "build", "--closure", fx.closureFile().toString(), "--store-dir", fx.storeDir(),
            "-o", old.toString()}, opts));
        assertEquals(0, r.exitCode(), r.err());
        String changed = fx.graph().paths().stream().map(pi -> pi.path().baseName()).filter(n -> n.endsWith("-pkg4")).findFirst().orElseThrow();
        Path tool = fx.store().resolve(changed).resolve("bin/tool4");
        byte[] b = Files.readAllBytes(tool);
        b[0] ^= 1;
        Files.write(tool, b);
        StoreFixture fx2 = StoreFixture.rehash(fx, tmp.resolve("closure2"));
        Path fresh = tmp.resolve("fresh.erofs");
        Path inc = tmp.resolve("inc.erofs");
        r = Cli.run(cat(new String[] {"image", "build", "--closure", fx2.closureFile().toString(), "--store-dir", fx.storeDir(),
            "-o", fresh.toString()}, opts));
        assertEquals(0, r.exitCode(), r.err());
        r = Cli.run(cat(new String[] {"image", "build", "--closure", fx2.closureFile().toString(), "--store-dir", fx.storeDir(),
            "-o", inc.toString(), "--reuse", old.toString()}, opts));
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(Files.readAllBytes(fresh), Files.readAllBytes(inc));
        Cli.Result v = Cli.run("image", "verify", inc.toString(), "--closure", fx2.closureFile().toString(), "--store-dir", fx.storeDir());
        assertEquals(0, v.exitCode(), v.err() + v.out());
        assertTrue(v.out().contains("ok: " + fx2.graph().size() + " store paths"), v.out());
        // the changed path's name and narHash differ from OLD's: compressed; the others copied
        Notes n = new Notes();
        Dir root = dev.microforge.fs.TreeBuilder.fromStore(fx.store(), fx2.graph().paths().stream().map(pi -> pi.path()).toList(), Map.of(), n, 1);
        Map<String, String> nar = new TreeMap<>();
        fx2.graph().paths().forEach(pi -> nar.put(pi.path().baseName(), pi.narHash().toSri()));
        Path again = tmp.resolve("again.erofs");
        try (FileChannel ch = FileChannel.open(again, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ErofsWriter.write(root, ch, new ErofsImageFormat().options(ImageOptions.defaults().withCompression("lz4hc").withTailPacking(true)
                    .withFragments(true).withThreads(2)), n, nar, old);
        }
        // 7 store paths, one a symlink (no files): the 5 unchanged ones with files are copied
        assertTrue(n.lines.stream().anyMatch(l -> l.endsWith(": 5 of 6 store paths with data copied, 1 compressed")), n.lines.toString());
    }

    private static String[] cat(String[] a, String[] b) {
        String[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void otherOptionsReuseNothingAndStillAgree() throws Exception {
        Pair p = pair();
        Path old = build(p.oldStore, p.oldPaths, options("lz4hc", 4096, false, false, 2), null, "old.img", Events.NONE);
        Options o = options("lz4hc", 4096, true, false, 2);
        byte[] fresh = Files.readAllBytes(build(p.store, p.paths, o, null, "fresh.img", Events.NONE));
        Notes notes = new Notes();
        assertArrayEquals(fresh, Files.readAllBytes(build(p.store, p.paths, o, old, "inc.img", notes)));
        assertTrue(notes.lines.stream().anyMatch(l -> l.contains("other image options")), notes.lines.toString());
    }

    @Test
    void badEarlierImagesAreRefusedWithOneLine() throws Exception {
        Pair p = pair();
        Options o = options("lz4hc", 4096, false, false, 1);
        UserError missing = assertThrows(UserError.class, () -> build(p.store, p.paths, o, tmp.resolve("nope.img"), "x.img", Events.NONE));
        assertTrue(missing.getMessage().contains("nope.img") && missing.getMessage().contains("does not exist"), missing.getMessage());
        Path junk = tmp.resolve("junk.img");
        Files.write(junk, TestTrees.random(5, 10000));
        UserError notImage = assertThrows(UserError.class, () -> build(p.store, p.paths, o, junk, "y.img", Events.NONE));
        assertTrue(notImage.getMessage().contains("not an EROFS image"), notImage.getMessage());
        Path sq = tmp.resolve("squashfs.img");
        ImageBuild.fromDirectory(p.oldStore, "squashfs", ImageOptions.defaults().withThreads(1).withMtime(0), sq);
        UserError other = assertThrows(UserError.class, () -> build(p.store, p.paths, o, sq, "z.img", Events.NONE));
        assertTrue(other.getMessage().contains("not an EROFS image"), other.getMessage());
        for (String m : List.of(missing.getMessage(), notImage.getMessage(), other.getMessage())) {
            assertTrue(!m.contains("\n"), m);
        }
    }
}
