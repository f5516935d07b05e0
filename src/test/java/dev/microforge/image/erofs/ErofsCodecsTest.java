package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.image.erofs.ErofsWriter.Options;
import dev.microforge.image.erofs.compress.AlgorithmConfig;
import dev.microforge.image.erofs.compress.ErofsAlgorithm;
import dev.microforge.image.erofs.compress.PclusterCodec;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * zstd, lzma and deflate EROFS images: for every compressor x pcluster 4 KiB / 64 KiB / 1 MiB x ztailpacking x
 * fragments our reader returns the source tree and the superblock carries the compressor's bit and record;
 * the bytes do not depend on the thread count. (The 6.12 kernel's verdict: {@code Erofs612MountTest}.)
 */
class ErofsCodecsTest {
    @TempDir
    static Path tmp;

    static Path src;

    @BeforeAll
    static void fixture() throws Exception {
        src = ErofsFixtures.tree(tmp.resolve("src"), 43);
    }

    static final Compression[] CODECS = {Compression.ZSTD, Compression.LZMA, Compression.DEFLATE};

    static Stream<Arguments> variants() {
        List<Arguments> out = new ArrayList<>();
        for (Compression c : CODECS) {
            for (int pcluster : new int[] {4096, 65536, 1 << 20}) {
                for (int shape = 0; shape < 4; shape++) {
                    boolean ztail = (shape & 1) != 0;
                    boolean frag = (shape & 2) != 0;
                    out.add(Arguments.of(c.name().toLowerCase() + "-" + pcluster / 1024 + "k" + (ztail ? "-ztail" : "") + (frag ? "-frag" : ""),
                            c, pcluster, ztail, frag));
                }
            }
        }
        return out.stream();
    }

    /** The fastest level of each (the layout does not depend on the level; the codec tests cover the levels). */
    static int fastLevel(Compression c) {
        return c.codec().minLevel();
    }

    static Options opts(Compression c, int pcluster, boolean ztail, boolean frag) {
        return Options.defaults().withCompression(c).withLevel(fastLevel(c)).withPcluster(pcluster).withZtailpacking(ztail)
                .withFragments(frag).withThreads(2).withMtime(1700000000L);
    }

    static byte[] image(Path tree, Options o) throws java.io.IOException {
        Path img = Files.createTempFile(tmp, "img", ".erofs");
        Files.delete(img);
        ErofsWriter.write((Dir) TreeBuilder.scan(tree), img, o, Events.NONE);
        byte[] b = Files.readAllBytes(img);
        Files.delete(img);
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void readerReturnsTheSourceTree(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        Path img = tmp.resolve(name + ".erofs");
        ErofsWriter.Result res = ErofsWriter.write((Dir) TreeBuilder.scan(src), img, opts(c, pcluster, ztail, frag), Events.NONE);
        assertTrue(res.compressedFiles() > 0, name);
        try (ErofsReader r = ErofsReader.open(img)) {
            List<String> diffs = new ArrayList<>();
            ErofsWriterTest.compare(src, r.root(), "", diffs);
            assertTrue(diffs.isEmpty(), diffs.toString());
        }
        PclusterCodec codec = PclusterCodec.named(c.name().toLowerCase());
        byte[] head = Files.readAllBytes(img);
        int bitmap = (head[1024 + 84] & 0xFF) | (head[1024 + 85] & 0xFF) << 8;
        assertEquals(codec.algorithm().bit(), bitmap, name + ": available_compr_algs");
        Map<ErofsAlgorithm, AlgorithmConfig> cfgs = AlgorithmConfig.decodeArea(bitmap, head, 1024 + 128, 4096);
        assertEquals(codec.config(pcluster), cfgs.get(codec.algorithm()), name);
        Files.delete(img);
    }

    static Stream<Arguments> someVariants() {
        return variants().filter(a -> a.get()[0].toString().matches(".*-(4k|64k-ztail-frag)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("someVariants")
    void identicalBytesAtAnyThreadCount(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        Options o = opts(c, pcluster, ztail, frag);
        byte[] one = image(src, o.withThreads(1));
        assertArrayEquals(one, image(src, o.withThreads(2)), name + " at 2 threads");
        assertArrayEquals(one, image(src, o.withThreads(8)), name + " at 8 threads");
    }

    /**
     * Equal files share one compressed body (pclusters, inline tail, fragment offset) with zstd and deflate, whose
     * kernels (6.10, 6.6) read pclusters referenced by several inodes (6.1+): the image is smaller than without
     * dedupe and reads back whole; lzma (5.16) and lz4 keep one body per file, so dedupe changes no byte.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("someVariants")
    void equalCompressedFilesShareTheirData(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        Options o = opts(c, pcluster, ztail, frag);
        Path img = tmp.resolve(name + "-dedupe.erofs");
        ErofsWriter.Result res = ErofsWriter.write((Dir) TreeBuilder.scan(src), img, o.withDedupe(true), Events.NONE);
        byte[] shared = Files.readAllBytes(img);
        byte[] separate = image(src, o.withDedupe(false));
        if (c == Compression.LZMA) {
            // the same file system; only the reuse table after it differs (its options digest names --dedupe)
            int fs = Math.toIntExact(ErofsFixtures.fsBlocks(img) * 4096);
            assertArrayEquals(java.util.Arrays.copyOf(separate, fs), java.util.Arrays.copyOf(shared, fs), name);
            assertEquals(0, res.dedupedFiles(), name);
            Files.delete(img);
            return;
        }
        assertTrue(res.dedupedFiles() >= 3, name + ": " + res.dedupedFiles() + " files deduplicated");
        // in the packed inode (fragments) zstd and deflate find the copy within their window anyway
        assertTrue(frag ? shared.length <= separate.length : shared.length < separate.length,
                name + ": " + shared.length + " bytes with dedupe, " + separate.length + " without");
        try (ErofsReader r = ErofsReader.open(img)) {
            List<String> diffs = new ArrayList<>();
            ErofsWriterTest.compare(src, r.root(), "", diffs);
            assertTrue(diffs.isEmpty(), diffs.toString());
        }
        Files.delete(img);
    }

    /** fsck.erofs 1.5 (Debian 12) predates lzma's final layout, deflate and zstd: it refuses these images. */
    @Test
    @Tag("oracle")
    void fsckErofs15RefusesThem() throws Exception {
        Path fsck = Tools.require("fsck.erofs");
        for (Compression c : CODECS) {
            Path img = tmp.resolve("fsck-" + c + ".erofs");
            ErofsWriter.write((Dir) TreeBuilder.scan(src), img, opts(c, 4096, false, false), Events.NONE);
            Exec.Result r = Exec.run(List.of(fsck.toString(), "--extract=" + tmp.resolve("fsck-out-" + c), img.toString()), tmp, Map.of(), 120);
            assertTrue(r.exitCode() != 0, c + ": fsck.erofs 1.5 read the image: " + r.out() + r.stderr());
        }
    }
}
