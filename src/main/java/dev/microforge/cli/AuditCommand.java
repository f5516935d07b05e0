package dev.microforge.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Closure audits for CI: size budgets, biggest contributors, why-chains, diffs, self-containment. "
                + "Exit code 3 when a rule fails (the report has been printed).",
        subcommands = {AuditSizeCommand.class, AuditSelfContainedCommand.class, AuditWhyCommand.class})
public final class AuditCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (size or self-contained)");
    }
}
