package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "nar", mixinStandardHelpOptions = true,
        description = "Nix archives: narHash and narSize of paths, exactly as Nix computes them.",
        subcommands = {NarHashCommand.class})
public final class NarCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (try 'microforge nar hash PATH...')");
    }
}
