package dev.microforge.cli;

import picocli.CommandLine;

/** Converts every {@code --threads N}: an integer from 1 to {@link #MAX}; anything else is a usage error. */
public final class ThreadsConverter implements CommandLine.ITypeConverter<Integer> {
    /** The most threads any command takes. */
    public static final int MAX = 1024;

    @Override
    public Integer convert(String value) {
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a number of threads (1 to " + MAX + ")");
        }
        if (n < 1 || n > MAX) {
            throw new CommandLine.TypeConversionException(n + " is out of range (1 to " + MAX + ")");
        }
        return n;
    }
}
