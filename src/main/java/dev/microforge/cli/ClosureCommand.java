package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "closure", mixinStandardHelpOptions = true,
        description = "Closure graphs: show them, check them against the bytes on disk.",
        subcommands = {ClosureShowCommand.class, ClosureScanCommand.class})
public final class ClosureCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (show or scan)");
    }
}
