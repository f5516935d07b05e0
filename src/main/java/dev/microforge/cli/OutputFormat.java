package dev.microforge.cli;

/** --format of commands that print a report. */
public enum OutputFormat {
    text, json
}
