package dev.microforge.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "self-contained", mixinStandardHelpOptions = true, description = "(coming next)")
public final class AuditSelfContainedCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new dev.microforge.util.UserError("audit self-contained: not implemented yet");
    }
}
