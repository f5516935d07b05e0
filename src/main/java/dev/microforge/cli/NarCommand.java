package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "nar", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class NarCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("nar: not implemented yet");
    }
}
