package dev.microforge.audit;

/** Output formats of the audit reports. */
public enum ReportFormat {
    TEXT, JSON, MARKDOWN,
    /** Only for {@code audit size}: {@link HtmlReport}, which needs the graph as well as the report. */
    HTML
}
