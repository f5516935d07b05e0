package dev.microforge.util;

/**
 * The core reports what it does through events; the CLI renders them (a progress bar on a terminal,
 * nothing when stderr is not a TTY). The core never prints.
 */
public interface Events {
    /** A long piece of work starts: {@code total} units (bytes or items), or -1 when unknown. */
    default void start(String task, long total) {}

    /** {@code done} more units of the current task. Must be thread-safe. */
    default void advance(long done) {}

    /** The current task has finished. */
    default void finish(String task) {}

    /** A warning the user should see (one line). */
    default void warn(String message) {}

    /** Informational message (one line). */
    default void info(String message) {}

    Events NONE = new Events() {};
}
