package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "closure", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class ClosureCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("closure: not implemented yet");
    }
}
