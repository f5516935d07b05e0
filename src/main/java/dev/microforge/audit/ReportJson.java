package dev.microforge.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The audit JSON reports as one document each (docs/audit-json.md): fixed field order, two-space indent, "\n" line
 * ends, a final newline, and empty arrays written {@code [ ]}. The other JSON microforge prints (nar hash, closure
 * scan, vm list, preflight, path-info) is streamed through {@link dev.microforge.util.JsonPretty}, which writes
 * empty arrays {@code []}; the two stay apart because both formats are published.
 */
final class ReportJson {
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private ReportJson() {}

    static String render(Body body) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
            DefaultIndenter ind = new DefaultIndenter("  ", "\n");
            g.setPrettyPrinter(new DefaultPrettyPrinter(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)).withObjectIndenter(ind).withArrayIndenter(ind));
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w + "\n";
    }

    static void strings(JsonGenerator g, String field, List<String> values) throws IOException {
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }
}
