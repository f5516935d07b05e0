package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.image.erofs.ErofsWriter.Options;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer's streaming paths on a tree big enough to take them: 1,500 small files whose inline tails make a
 * metadata area of several MiB when uncompressed (written through a window of 1 MiB), and whose fragments make a packed inode of
 * several 1 MiB segments (kept in a spill file, read back for compression). Our reader returns the source tree,
 * fsck.erofs extracts it where it knows the features (no fragments in erofs-utils 1.5), and the bytes do not
 * depend on the thread count.
 */
class ErofsLargeMetadataTest {
    @TempDir
    static Path tmp;

    static Path src;

    @BeforeAll
    static void fixture() throws Exception {
        src = tmp.resolve("src");
        Random r = new Random(23);
        for (int p = 0; p < 3; p++) {
            Path dir = Files.createDirectories(src.resolve("p" + p + "-many-small-files/share"));
            for (int f = 0; f < 500; f++) {
                int len = 2_500 + r.nextInt(1_400);
                byte[] b = f % 3 == 0 ? new byte[len] : ErofsFixtures.compressible(r, len);
                if (f % 3 == 0) {
                    r.nextBytes(b);
                }
                ErofsFixtures.file(dir.resolve("f" + f), b, f % 7 == 0);
            }
            // tiny files: many inodes share a metadata block, also where the window moves on
            Path tiny = Files.createDirectories(dir.resolve("tiny"));
            for (int f = 0; f < 400; f++) {
                ErofsFixtures.file(tiny.resolve("t" + f), ErofsFixtures.compressible(r, 1 + r.nextInt(300)), false);
            }
            ErofsFixtures.file(dir.resolve("big"), ErofsFixtures.compressible(r, 2_300_000 + p), false);
        }
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("none", Compression.NONE, false, false),
                Arguments.of("lz4-ztail", Compression.LZ4, true, false),
                Arguments.of("lz4-frag", Compression.LZ4, false, true),
                Arguments.of("lz4hc-ztail-frag", Compression.LZ4HC, true, true));
    }

    static Options opts(Compression c, boolean ztail, boolean frag, int threads) {
        return Options.defaults().withCompression(c).withZtailpacking(ztail).withFragments(frag).withThreads(threads)
                .withMtime(1700000000L);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void readerReturnsTheTreeAndBytesDoNotDependOnThreads(String name, Compression c, boolean ztail, boolean frag) throws Exception {
        Path img = tmp.resolve(name + ".erofs");
        ErofsWriter.Result res = ErofsWriter.write((Dir) TreeBuilder.scan(src), img, opts(c, ztail, frag, 3), Events.NONE);
        if (c == Compression.NONE) {
            assertTrue(res.metaBytes() > 3 << 20, "metadata area beyond the 1 MiB window: " + res.metaBytes());
        }
        try (ErofsReader rd = ErofsReader.open(img)) {
            List<String> diffs = new ArrayList<>();
            ErofsWriterTest.compare(src, rd.root(), "", diffs);
            assertTrue(diffs.isEmpty(), diffs.toString());
        }
        Path one = tmp.resolve(name + "-1.erofs");
        ErofsWriter.write((Dir) TreeBuilder.scan(src), one, opts(c, ztail, frag, 1), Events.NONE);
        assertArrayEquals(Files.readAllBytes(img), Files.readAllBytes(one), name + ": 1 vs 3 threads");
        Files.delete(one);
    }

    /** The variants fsck.erofs 1.5 knows: it predates fragments (the reader test above covers those). */
    static Stream<Arguments> fsckVariants() {
        return variants().filter(a -> !(boolean) a.get()[3]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fsckVariants")
    @Tag("oracle")
    void fsckExtractEqualsSource(String name, Compression c, boolean ztail, boolean frag) throws Exception {
        Path fsck = Tools.require("fsck.erofs");
        Path img = tmp.resolve("fsck-" + name + ".erofs");
        ErofsWriter.write((Dir) TreeBuilder.scan(src), img, opts(c, ztail, frag, 2), Events.NONE);
        Path out = tmp.resolve("x-" + name);
        Exec.Result r = Exec.ok(fsck.toString(), "--extract=" + out, "--preserve", img.toString());
        List<String> d = ErofsFixtures.diff(src, out);
        assertTrue(d.isEmpty(), "fsck.erofs --extract differs from the source: " + d + "\n" + r.stderr());
    }
}
