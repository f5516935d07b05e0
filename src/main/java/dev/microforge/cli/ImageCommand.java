package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "image", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class ImageCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("image: not implemented yet");
    }
}
