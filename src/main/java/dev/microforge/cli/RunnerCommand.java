package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "runner", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class RunnerCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("runner: not implemented yet");
    }
}
