package dev.microforge.vm;

import dev.microforge.util.UserError;

/**
 * A VM spec value that is wrong: names the field (a path such as {@code volumes[1].size}) and the problem.
 * Thrown by the records' compact constructors with the field relative to that record; the reader prefixes
 * the enclosing path and the file name, so the user sees {@code vm.json: volumes[1].size: must be at least 1 (MiB)}.
 */
public final class SpecError extends UserError {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final String problem;

    public SpecError(String field, String problem) {
        super(field.isEmpty() ? problem : field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }

    /** The same error seen from the enclosing object: {@code parent} is e.g. {@code "volumes[1]"}. */
    public SpecError within(String parent) {
        if (parent.isEmpty()) {
            return this;
        }
        String f = field.isEmpty() ? parent : field.startsWith("[") ? parent + field : parent + "." + field;
        return new SpecError(f, problem);
    }
}
