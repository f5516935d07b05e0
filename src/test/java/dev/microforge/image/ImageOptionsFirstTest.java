package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each format validates its own options once, before any work: a bad option is reported before the store is read. */
class ImageOptionsFirstTest {
    @TempDir
    Path tmp;

    @Test
    void optionsThatDoNotApplyFailBeforeTheStoreIsRead() {
        ClosureGraph empty = ClosureGraph.of("/nix/store", "test", List.of());
        Path missingStore = tmp.resolve("no-store");
        Path out = tmp.resolve("out.img");
        UserError sq = assertThrows(UserError.class, () -> ImageBuild.build(empty, missingStore, "squashfs",
                ImageOptions.defaults().withPcluster(65536L), Map.of(), out, Events.NONE));
        assertEquals("--pcluster does not apply to --type squashfs", sq.getMessage());
        UserError ero = assertThrows(UserError.class, () -> ImageBuild.build(empty, missingStore, "erofs",
                ImageOptions.defaults().withBlockSize(65536L), Map.of(), out, Events.NONE));
        assertTrue(ero.getMessage().startsWith("--block-size does not apply to --type erofs"), ero.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void theFormatsTypedOptionsCarryTheDefaults() {
        var sq = ImageFormats.byType("squashfs").options(ImageOptions.defaults());
        assertEquals("SquashfsOptions", sq.getClass().getSimpleName());
        var ero = ImageFormats.byType("erofs").options(ImageOptions.defaults());
        assertEquals("Options", ero.getClass().getSimpleName());
    }
}
