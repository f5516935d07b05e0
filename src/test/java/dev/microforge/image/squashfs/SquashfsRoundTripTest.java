package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.image.Extract;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageFormats;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Our writer, read back by our reader: every compressor, a tree with what writers get wrong. */
class SquashfsRoundTripTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "xz", "gzip", "lz4", "none"})
    void roundTrip(String compression) throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 400);
        Path img = tmp.resolve("img.sqfs");
        ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression(compression).withThreads(2).withMtime(0), img);
        assertEquals("squashfs", ImageFormats.detect(img).type());
        try (ImageFs fs = ImageFormats.open(img)) {
            assertEquals(compression.equals("none") ? "gzip" : compression, fs.summary().get("compression"));
            Extract.extract(fs, tmp.resolve("out"), Events.NONE);
        }
        TreeAssert.sameTree(src, tmp.resolve("out"));
    }

    /** --xz-bcj: auto and x86 read back; BCJ shrinks the code file's blocks; the options block says so. */
    @ParameterizedTest
    @ValueSource(strings = {"auto", "x86", "none"})
    void xzBcj(String bcj) throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 50);
        Path img = tmp.resolve("img.sqfs");
        ImageOptions o = ImageOptions.defaults().withCompression("xz").withBlockSize(1L << 20).withThreads(2).withMtime(0);
        ImageBuild.fromDirectory(src, "squashfs", o.withXzBcj(bcj), img);
        try (ImageFs fs = ImageFormats.open(img)) {
            Extract.extract(fs, tmp.resolve("out"), Events.NONE);
        }
        TreeAssert.sameTree(src, tmp.resolve("out"));
        byte[] head = Files.readAllBytes(img);
        boolean options = (SquashfsOnDisk.getShort(head, 24) & SquashfsOnDisk.COMP_OPT) != 0;
        assertEquals(!bcj.equals("none"), options, "compressor options block");
        if (options) {
            assertEquals(8 | SquashfsOnDisk.META_UNCOMPRESSED, SquashfsOnDisk.getShort(head, SquashfsOnDisk.SUPERBLOCK_SIZE));
            assertEquals(1 << 20, SquashfsOnDisk.getInt(head, SquashfsOnDisk.SUPERBLOCK_SIZE + 2), "dictionary size");
            assertEquals(1, SquashfsOnDisk.getInt(head, SquashfsOnDisk.SUPERBLOCK_SIZE + 6), "flags: x86");
        }
        if (bcj.equals("auto")) {
            Path plain = tmp.resolve("plain.sqfs");
            ImageBuild.fromDirectory(src, "squashfs", o.withXzBcj("none"), plain);
            long a = Files.size(img);
            long n = Files.size(plain);
            // libcode.so is 1.2 MB of x86-like code; BCJ saves far more than the 4 KiB padding granularity
            org.junit.jupiter.api.Assertions.assertTrue(a + 64 * 1024 < n, "auto " + a + " vs none " + n);
        }
    }

    /** xz's per-block choices (BCJ, level) depend only on each block's bytes: same image at 1 and 8 threads. */
    @org.junit.jupiter.api.Test
    void xzDefaultIsReproducible() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 50);
        ImageOptions o = ImageOptions.defaults().withCompression("xz").withBlockSize(1L << 20).withMtime(0);
        ImageBuild.fromDirectory(src, "squashfs", o.withThreads(1), tmp.resolve("one.sqfs"));
        ImageBuild.fromDirectory(src, "squashfs", o.withThreads(8), tmp.resolve("eight.sqfs"));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("one.sqfs")),
                Files.readAllBytes(tmp.resolve("eight.sqfs")));
    }
}
