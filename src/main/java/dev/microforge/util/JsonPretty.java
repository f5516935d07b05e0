package dev.microforge.util;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;

/** The pretty-printer for JSON microforge writes: two-space indent, "key": value, '\n' line ends on every platform. */
public final class JsonPretty {
    private JsonPretty() {}

    public static DefaultPrettyPrinter printer() {
        DefaultIndenter ind = new DefaultIndenter("  ", "\n");
        Separators sep = Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withArrayEmptySeparator("").withObjectEmptySeparator("");
        return new DefaultPrettyPrinter(sep).withArrayIndenter(ind).withObjectIndenter(ind);
    }
}
