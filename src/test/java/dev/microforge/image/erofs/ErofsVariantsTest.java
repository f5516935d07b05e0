package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.image.erofs.ErofsWriter.Options;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** ztailpacking, fragments and big pclusters: our reader returns the source tree; bytes do not depend on threads. */
class ErofsVariantsTest {
    @TempDir
    static Path tmp;

    static Path src;

    @BeforeAll
    static void fixture() throws Exception {
        src = ErofsFixtures.tree(tmp.resolve("src"), 42);
    }

    /** The variants every test of the new features runs: name, compression, pcluster, ztailpacking, fragments. */
    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("lz4-ztail", Compression.LZ4, 4096, true, false),
                Arguments.of("lz4hc-ztail", Compression.LZ4HC, 4096, true, false),
                Arguments.of("lz4-frag", Compression.LZ4, 4096, false, true),
                Arguments.of("lz4hc-ztail-frag", Compression.LZ4HC, 4096, true, true),
                Arguments.of("lz4hc-16k", Compression.LZ4HC, 16384, false, false),
                Arguments.of("lz4-64k-ztail", Compression.LZ4, 65536, true, false),
                Arguments.of("lz4hc-64k-ztail-frag", Compression.LZ4HC, 65536, true, true));
    }

    static Options opts(Compression c, int pcluster, boolean ztail, boolean frag) {
        return Options.defaults().withCompression(c).withPcluster(pcluster).withZtailpacking(ztail).withFragments(frag)
                .withThreads(2).withMtime(1700000000L);
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
        try (ErofsReader r = ErofsReader.open(img)) {
            List<String> diffs = new ArrayList<>();
            ErofsWriterTest.compare(src, r.root(), "", diffs);
            assertTrue(diffs.isEmpty(), diffs.toString());
            String features = r.summary().get("features");
            assertEquals(ztail, features.contains("ztailpacking"), features);
            assertEquals(frag, features.contains("fragments"), features);
            assertEquals(pcluster > 4096, features.contains("big_pcluster"), features);
            assertEquals(frag, r.summary().containsKey("packed nid"), r.summary().toString());
        }
        assertTrue(res.compressedFiles() > 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void identicalBytesAtAnyThreadCount(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        Options o = opts(c, pcluster, ztail, frag);
        byte[] one = image(src, o.withThreads(1));
        assertArrayEquals(one, image(src, o.withThreads(2)));
        assertArrayEquals(one, image(src, o.withThreads(8)));
    }

    /** The features pay: each variant is smaller than plain lz4hc 4 KiB pclusters on the fixture. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void featuresShrinkTheImage(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        long base = image(src, opts(c, 4096, false, false)).length;
        long v = image(src, opts(c, pcluster, ztail, frag)).length;
        System.out.println("erofs variant " + name + ": " + v + " bytes, " + c + " 4K without tail packing: " + base);
        assertTrue(v < base, name + ": " + v + " >= " + base);
    }
}
