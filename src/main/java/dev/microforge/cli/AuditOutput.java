package dev.microforge.cli;

import dev.microforge.audit.ReportFormat;
import dev.microforge.util.AtomicOutput;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** Output options shared by the audit subcommands: the report format and an optional report file. */
public final class AuditOutput {
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text", converter = FormatConverter.class,
            description = "Report format: text, json, markdown or html (html: audit size only; default: ${DEFAULT-VALUE}).")
    ReportFormat format = ReportFormat.TEXT;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", converter = OutputFileConverter.class,
            description = "Write the report to FILE (atomically) instead of standard output.")
    Path output;

    public ReportFormat format() {
        return format;
    }

    /** Refuses an --output that may not be replaced (see {@link AtomicOutput#checkTarget}) before the audit runs. */
    public void checkTarget() throws IOException {
        if (output != null) {
            AtomicOutput.checkTarget(output);
        }
    }

    /** Prints the report to stdout or writes it to --output; never leaves a half-written file. */
    public void emit(PrintWriter out, String report) throws IOException {
        if (output == null) {
            out.print(report);
            out.flush();
        } else {
            AtomicOutput.write(output, report.getBytes(StandardCharsets.UTF_8));
        }
    }

    static final class FormatConverter implements ITypeConverter<ReportFormat> {
        @Override
        public ReportFormat convert(String value) {
            try {
                return ReportFormat.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("unknown format '" + value + "' (expected text, json, markdown or html)");
            }
        }
    }
}
