package dev.microforge.cli;

import dev.microforge.image.ImageFormats;
import dev.microforge.image.Listing;
import dev.microforge.util.RawNames;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "ls", mixinStandardHelpOptions = true,
        description = "List every file of an image (SquashFS or EROFS, detected by its magic number).")
public final class ImageLsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IMG", description = "The image file.")
    Path image;

    @Option(names = "--summary", description = "Print the superblock facts instead of the files.")
    boolean summary;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        ImageFormats.read(image, fs -> {
            if (summary) {
                out.println("type: " + RawNames.display(fs.type()));
                for (Map.Entry<String, String> e : fs.summary().entrySet()) {
                    out.println(RawNames.display(e.getKey() + ": " + e.getValue()));
                }
            } else {
                Listing.list(fs, out);
            }
            return null;
        });
        out.flush();
        return 0;
    }
}
