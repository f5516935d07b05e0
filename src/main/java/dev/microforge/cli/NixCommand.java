package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "nix", mixinStandardHelpOptions = true,
        description = "Nix integration: emit the guest NixOS module (or microvm.nix options) for a VM spec.",
        subcommands = {NixEmitCommand.class})
public final class NixCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (emit)");
    }
}
