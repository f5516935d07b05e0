package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "preflight", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class PreflightCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("preflight: not implemented yet");
    }
}
