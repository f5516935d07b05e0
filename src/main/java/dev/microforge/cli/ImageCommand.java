package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Build, list, extract and verify SquashFS and EROFS store-disk images.",
        subcommands = {ImageBuildCommand.class, ImageLsCommand.class, ImageExtractCommand.class, ImageVerifyCommand.class})
public final class ImageCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (build, ls, extract or verify)");
    }
}
