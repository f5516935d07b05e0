package dev.microforge.util;

/**
 * The one rule for a number of worker threads, in every command and in the core: a whole number from 1 to
 * {@link #MAX}; when none is given, the available processors, at most {@link #MAX}. Zero, a negative number,
 * more than {@link #MAX} or anything else is refused with {@link #problem(String)}; nothing is clamped.
 *
 * <p>{@link #MAX} bounds what the threads hold in memory: the image pipelines keep up to four blocks (or EROFS
 * segments) in flight per thread, 1 MiB each at most, so 256 threads may hold 1 GiB.
 *
 * @param count the number of threads, 1 to {@link #MAX}
 */
public record Threads(int count) {
    /** The most threads any command or writer takes. */
    public static final int MAX = 256;

    public Threads {
        check(count);
    }

    /** The default: the available processors, at least 1 and at most {@link #MAX}. */
    public static Threads available() {
        return new Threads(Math.min(MAX, Math.max(1, Runtime.getRuntime().availableProcessors())));
    }

    /** {@code count} itself; a {@link UserError} with {@link #problem(String)} when it is out of range. */
    public static int check(int count) {
        if (count < 1 || count > MAX) {
            throw new UserError(problem(Integer.toString(count)));
        }
        return count;
    }

    /** Parses a {@code --threads} value; a {@link UserError} with {@link #problem(String)} when it is not 1 to {@link #MAX}. */
    public static Threads parse(String text) {
        long n;
        try {
            n = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new UserError(problem(text));
        }
        if (n < 1 || n > MAX) {
            throw new UserError(problem(text));
        }
        return new Threads((int) n);
    }

    /** The one message for a bad thread count, naming the value as given. */
    public static String problem(String given) {
        return "--threads: '" + given + "' is not a number of threads from 1 to " + MAX;
    }
}
