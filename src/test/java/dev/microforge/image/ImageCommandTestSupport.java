package dev.microforge.image;

import java.nio.file.Path;

/** Shared assertions of the image tests. */
public final class ImageCommandTestSupport {
    private ImageCommandTestSupport() {}

    /** Nothing at {@code img}, and no temporary file beside it. */
    public static void assertNoOutput(Path img) throws Exception {
        ImageCommandTest.assertNoOutput(img);
    }
}
