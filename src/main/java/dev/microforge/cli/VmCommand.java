package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "The VMs declared on this host (microforge units, the NixOS host module).",
        subcommands = {VmListCommand.class})
public final class VmCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (list)");
    }
}
