package dev.microforge.util;

/** An audit found violations: the report has been rendered already; exit code 3. */
public class AuditViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuditViolation(String message) {
        super(message);
    }
}
