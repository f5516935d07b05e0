package dev.microforge.cli;

import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import dev.microforge.util.JsonPretty;

/** The one pretty-printer of CLI JSON output (see {@link JsonPretty}). */
final class Json {
    private Json() {}

    static DefaultPrettyPrinter pretty() {
        return JsonPretty.printer();
    }
}
