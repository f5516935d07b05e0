package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.image.Extract;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageFormats;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
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
}
