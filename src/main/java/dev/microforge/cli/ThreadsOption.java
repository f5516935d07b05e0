package dev.microforge.cli;

import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --threads N}, the same in every command that takes it: {@link Threads}' range and default, and one usage
 * line (exit 2) for anything else: {@code microforge: --threads: '0' is not a number of threads from 1 to 256}.
 */
public final class ThreadsOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Threads threads;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads, 1 to " + Threads.MAX + " (default: the number of processors, at most "
                    + Threads.MAX + "). The output does not depend on it.")
    void set(String value) {
        if (value == null) {
            threads = null;
            return;
        }
        try {
            threads = Threads.parse(value);
        } catch (UserError e) {
            throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
        }
    }

    /** The value given, or {@link Threads#available()}. */
    public Threads threads() {
        return threads != null ? threads : Threads.available();
    }

    /** {@link #threads()} as a count. */
    public int count() {
        return threads().count();
    }
}
