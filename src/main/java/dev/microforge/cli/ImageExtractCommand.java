package dev.microforge.cli;

import dev.microforge.image.Extract;
import dev.microforge.image.ImageFormats;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "extract", mixinStandardHelpOptions = true,
        description = "Extract an image into a new or empty directory (names as raw bytes, modes, symlinks, mtimes).")
public final class ImageExtractCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The image file.")
    Path image;

    @Parameters(index = "1", paramLabel = "DIR", description = "Target directory (created; must be empty if it exists).")
    Path dir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Terminal term = Terminal.forStderr(spec.commandLine().getErr());
        ImageFormats.read(image, fs -> {
            Extract.extract(fs, dir, term);
            return null;
        });
        return 0;
    }
}
