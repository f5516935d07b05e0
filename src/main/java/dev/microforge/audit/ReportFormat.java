package dev.microforge.audit;

/** Output formats of the audit reports. */
public enum ReportFormat {
    TEXT, JSON, MARKDOWN
}
