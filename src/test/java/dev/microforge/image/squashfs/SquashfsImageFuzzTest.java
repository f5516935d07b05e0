package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageOptions;
import dev.microforge.testkit.ImageFuzz;
import dev.microforge.testkit.TestTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared {@link ImageFuzz} driver on the SquashFS reader (complements {@link SquashfsFuzzTest} with per-case
 * deadlines, an allocation cap, content-length and name-safety checks, and seeds from the rich test tree).
 */
class SquashfsImageFuzzTest {
    @TempDir
    Path tmp;

    @Test
    void readerSurvivesMutants() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 40);
        // keep seeds small so that many cases fit in the budget
        Files.delete(src.resolve("pkg-1.0/bin/big-exe"));
        Files.delete(src.resolve("pkg-1.0/share/compressible-1m"));
        ImageFuzz fuzz = ImageFuzz.reader("squashfs", p -> new SquashfsImageFormat().open(p)).budget(Duration.ofSeconds(10));
        for (String c : new String[] {"zstd", "xz", "gzip", "lz4", "none"}) {
            Path img = tmp.resolve(c + ".img");
            ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression(c).withBlockSize(4096L).withThreads(1), img);
            fuzz.seed(img);
        }
        ImageFuzz.Result r = fuzz.run();
        assertTrue(r.cases() > 50 && r.rejected() > 0, r.toString());
    }
}
