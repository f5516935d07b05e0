package dev.microforge.cli;

import picocli.CommandLine.Command;

@Command(name = "audit", mixinStandardHelpOptions = true, description = "(not implemented yet)")
public final class AuditCommand implements Runnable {
    @Override
    public void run() {
        throw new dev.microforge.util.UserError("audit: not implemented yet");
    }
}
