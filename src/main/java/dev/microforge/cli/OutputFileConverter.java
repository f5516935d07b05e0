package dev.microforge.cli;

import dev.microforge.util.AtomicOutput;
import dev.microforge.util.UserError;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Converts an output file option (-o of image build, nix emit, the audits): refuses '' and a trailing '/' (a
 * directory name) as a usage error, before {@link Path#of} would drop the slash.
 */
public final class OutputFileConverter implements CommandLine.ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
        try {
            AtomicOutput.checkFileName(value);
        } catch (UserError e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
        return Path.of(value);
    }
}
