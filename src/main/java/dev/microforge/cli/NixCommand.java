package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "nix", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class NixCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("nix: not implemented yet");
    }
}
