package dev.microforge.audit;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.util.Sizes;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/** Renders a {@link SizeReport} as text (terminal, CI log), Markdown (job summary, PR comment) or JSON. */
public final class SizeReportRenderer {
    private SizeReportRenderer() {}

    public static String render(SizeReport r, ReportFormat f) {
        return switch (f) {
            case TEXT -> text(r);
            case MARKDOWN -> markdown(r);
            case JSON -> json(r);
            case HTML -> throw new IllegalArgumentException("the HTML report needs the graph: HtmlReport.render");
        };
    }

    static String name(String path) {
        int slash = path.lastIndexOf('/');
        String base = path.substring(slash + 1);
        return base.length() > 33 && base.charAt(32) == '-' ? base.substring(33) : base;
    }

    static String chain(List<String> why, String sep) {
        StringBuilder sb = new StringBuilder();
        for (String p : why) {
            if (sb.length() > 0) {
                sb.append(sep);
            }
            sb.append(name(p));
        }
        return sb.toString();
    }

    static String signed(long delta) {
        return (delta > 0 ? "+" : delta < 0 ? "-" : "±") + Sizes.human(Math.abs(delta));
    }

    static String versions(List<String> vs) {
        if (vs.isEmpty()) {
            return "∅";
        }
        StringBuilder sb = new StringBuilder();
        for (String v : vs) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(v.isEmpty() ? "ε" : v);
        }
        return sb.toString();
    }

    static String diffLine(ClosureDiff.Package p) {
        StringBuilder sb = new StringBuilder();
        if (!p.versionsBefore().isEmpty() || !p.versionsAfter().isEmpty()) {
            sb.append(versions(p.versionsBefore())).append(" → ").append(versions(p.versionsAfter()));
        }
        if (Math.abs(p.sizeDelta()) >= ClosureDiff.SHOW_DELTA) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(signed(p.sizeDelta()));
        }
        return sb.toString();
    }

    private static String plural(long n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }

    private static String failedNames(SizeReport r) {
        return String.join(", ", r.failed().stream().map(SizeReport.Rule::rule).toList());
    }

    // ---------------------------------------------------------------- text

    static String text(SizeReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("closure: ").append(plural(r.paths(), "path")).append(", ").append(Sizes.human(r.closureSize()))
                .append(" (").append(r.closureSize()).append(" bytes), ").append(plural(r.roots().size(), "root")).append('\n');
        for (String root : r.roots()) {
            sb.append("  root ").append(root).append('\n');
        }
        if (r.top() > 0) {
            sb.append('\n').append("top ").append(r.biggest().size()).append(" by added size (bytes that leave the closure if the path goes):\n");
            sb.append(String.format(Locale.ROOT, "  %10s  %10s  %10s  %s%n", "added", "nar", "closure", "path").replace("\r", ""));
            for (SizeReport.Entry e : r.biggest()) {
                sb.append(String.format(Locale.ROOT, "  %10s  %10s  %10s  %s", Sizes.human(e.addedSize()), Sizes.human(e.narSize()),
                        Sizes.human(e.closureSize()), e.path())).append('\n');
                sb.append("  ").append(" ".repeat(36)).append("why: ").append(chain(e.why(), " -> ")).append('\n');
            }
        }
        if (!r.forbidPatterns().isEmpty()) {
            sb.append('\n');
            if (r.forbidden().isEmpty()) {
                sb.append("forbidden paths: none (").append(String.join(", ", r.forbidPatterns())).append(")\n");
            } else {
                sb.append("forbidden paths:\n");
                for (SizeReport.Forbidden f : r.forbidden()) {
                    sb.append("  ").append(f.path()).append(" (").append(Sizes.human(f.narSize())).append(") matches ")
                            .append(f.pattern()).append('\n');
                    sb.append("    why: ").append(chain(f.why(), " -> ")).append('\n');
                }
            }
        }
        ClosureDiff.Result d = r.diff();
        if (d != null) {
            sb.append('\n').append("against the baseline (").append(plural(d.pathsBefore(), "path")).append(", ")
                    .append(Sizes.human(d.sizeBefore())).append("): ").append(signed(d.sizeDelta()))
                    .append(SizeAudit.percent(d.sizeDelta(), d.sizeBefore())).append(", ")
                    .append(d.pathsAfter() - d.pathsBefore() >= 0 ? "+" : "").append(d.pathsAfter() - d.pathsBefore())
                    .append(" paths\n");
            if (d.packages().isEmpty()) {
                sb.append("  no package changes\n");
            }
            for (ClosureDiff.Package p : d.packages()) {
                sb.append("  ").append(p.name()).append(": ").append(diffLine(p)).append('\n');
            }
            List<String> nvd = VersionChange.lines(d);
            if (!nvd.isEmpty()) {
                sb.append("version changes: ").append(VersionChange.counts(d)).append('\n');
                nvd.forEach(l -> sb.append("  ").append(l).append('\n'));
            }
        }
        if (!r.rules().isEmpty()) {
            sb.append('\n').append("rules:\n");
            for (SizeReport.Rule rule : r.rules()) {
                sb.append(rule.ok() ? "  ok    " : "  FAIL  ").append(String.format(Locale.ROOT, "%-11s", rule.rule()))
                        .append(rule.message()).append('\n');
            }
            sb.append(r.ok() ? "result: ok\n" : "result: FAILED (" + failedNames(r) + ")\n");
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- markdown

    static String markdown(SizeReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("### microforge audit size: ");
        if (r.rules().isEmpty()) {
            sb.append("report");
        } else if (r.ok()) {
            sb.append("✅ passed");
        } else {
            sb.append("❌ failed (").append(failedNames(r)).append(')');
        }
        sb.append("\n\n");
        sb.append("**").append(plural(r.paths(), "path")).append(", ").append(Sizes.human(r.closureSize())).append("** (")
                .append(r.closureSize()).append(" bytes) from ").append(plural(r.roots().size(), "root")).append(": ");
        for (int i = 0; i < r.roots().size(); i++) {
            if (i == 5) {
                sb.append(", … (").append(r.roots().size() - 5).append(" more)");
                break;
            }
            sb.append(i > 0 ? ", " : "").append(Markdown.code(name(r.roots().get(i))));
        }
        sb.append("\n");
        if (!r.rules().isEmpty()) {
            sb.append("\n| rule | result | detail |\n|---|---|---|\n");
            for (SizeReport.Rule rule : r.rules()) {
                sb.append("| ").append(rule.rule()).append(" | ").append(rule.ok() ? "✅ ok" : "❌ **failed**").append(" | ")
                        .append(Markdown.text(rule.message())).append(" |\n");
            }
        }
        if (r.top() > 0) {
            sb.append("\n#### Top ").append(r.biggest().size()).append(" by added size\n\n");
            sb.append("| # | path | added | NAR | closure | why |\n|---:|---|---:|---:|---:|---|\n");
            int i = 1;
            for (SizeReport.Entry e : r.biggest()) {
                sb.append("| ").append(i++).append(" | ").append(Markdown.code(name(e.path()))).append(" | ")
                        .append(Sizes.human(e.addedSize())).append(" | ").append(Sizes.human(e.narSize())).append(" | ")
                        .append(Sizes.human(e.closureSize())).append(" | ").append(mdChain(e.why())).append(" |\n");
            }
        }
        if (!r.forbidPatterns().isEmpty()) {
            sb.append("\n#### Forbidden paths\n\n");
            if (r.forbidden().isEmpty()) {
                sb.append("None of ");
                for (int i = 0; i < r.forbidPatterns().size(); i++) {
                    sb.append(i > 0 ? ", " : "").append(Markdown.code(r.forbidPatterns().get(i)));
                }
                sb.append(" is in the closure.\n");
            } else {
                sb.append("| pattern | path | NAR | why |\n|---|---|---:|---|\n");
                for (SizeReport.Forbidden f : r.forbidden()) {
                    sb.append("| ").append(Markdown.code(f.pattern())).append(" | ").append(Markdown.code(f.path())).append(" | ")
                            .append(Sizes.human(f.narSize())).append(" | ").append(mdChain(f.why())).append(" |\n");
                }
            }
        }
        ClosureDiff.Result d = r.diff();
        if (d != null) {
            sb.append("\n#### Changes against the baseline\n\n");
            sb.append("Baseline ").append(plural(d.pathsBefore(), "path")).append(", ").append(Sizes.human(d.sizeBefore()))
                    .append("; now ").append(plural(d.pathsAfter(), "path")).append(", ").append(Sizes.human(d.sizeAfter()))
                    .append(": **").append(signed(d.sizeDelta())).append(SizeAudit.percent(d.sizeDelta(), d.sizeBefore()))
                    .append("**\n\n");
            if (d.packages().isEmpty()) {
                sb.append("No package changes.\n");
            } else {
                sb.append("| package | change | versions | size |\n|---|---|---|---:|\n");
                for (ClosureDiff.Package p : d.packages()) {
                    String vs = p.versionsBefore().isEmpty() && p.versionsAfter().isEmpty() ? ""
                            : versions(p.versionsBefore()) + " → " + versions(p.versionsAfter());
                    sb.append("| ").append(Markdown.code(p.name())).append(" | ").append(p.change().label()).append(" | ")
                            .append(Markdown.text(vs)).append(" | ").append(signed(p.sizeDelta())).append(" |\n");
                }
                List<String> nvd = VersionChange.lines(d);
                if (!nvd.isEmpty()) {
                    sb.append("\nVersion changes: ").append(VersionChange.counts(d)).append("\n\n```text\n");
                    nvd.forEach(l -> sb.append(l).append('\n'));
                    sb.append("```\n");
                }
            }
        }
        return sb.toString();
    }

    private static String mdChain(List<String> why) {
        StringBuilder sb = new StringBuilder();
        for (String p : why) {
            if (sb.length() > 0) {
                sb.append(" → ");
            }
            sb.append(Markdown.code(name(p)));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- json

    static String json(SizeReport r) {
        return ReportJson.render(g -> {
            g.writeStartObject();
            g.writeNumberField("schemaVersion", SizeReport.SCHEMA_VERSION);
            g.writeStringField("report", "audit-size");
            g.writeBooleanField("ok", r.ok());
            ReportJson.strings(g, "failedRules", r.failed().stream().map(SizeReport.Rule::rule).toList());
            ReportJson.strings(g, "roots", r.roots());
            g.writeObjectFieldStart("totals");
            g.writeNumberField("paths", r.paths());
            g.writeNumberField("closureSize", r.closureSize());
            g.writeEndObject();
            g.writeArrayFieldStart("top");
            for (SizeReport.Entry e : r.biggest()) {
                g.writeStartObject();
                g.writeStringField("path", e.path());
                g.writeNumberField("addedSize", e.addedSize());
                g.writeNumberField("narSize", e.narSize());
                g.writeNumberField("closureSize", e.closureSize());
                ReportJson.strings(g, "why", e.why());
                g.writeEndObject();
            }
            g.writeEndArray();
            writeForbidden(g, r.forbidPatterns(), r.forbidden());
            writeDiff(g, r);
            g.writeArrayFieldStart("rules");
            for (SizeReport.Rule rule : r.rules()) {
                g.writeStartObject();
                g.writeStringField("rule", rule.rule());
                g.writeBooleanField("ok", rule.ok());
                g.writeNumberField("limit", rule.limit());
                g.writeNumberField("actual", rule.actual());
                g.writeStringField("message", rule.message());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** The {@code forbidPatterns} and {@code forbidden} JSON fields, shared by the size and self-contained reports. */
    static void writeForbidden(JsonGenerator g, List<String> patterns, List<SizeReport.Forbidden> forbidden)
            throws IOException {
        ReportJson.strings(g, "forbidPatterns", patterns);
        g.writeArrayFieldStart("forbidden");
        for (SizeReport.Forbidden f : forbidden) {
            g.writeStartObject();
            g.writeStringField("pattern", f.pattern());
            g.writeStringField("path", f.path());
            g.writeNumberField("narSize", f.narSize());
            ReportJson.strings(g, "why", f.why());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeDiff(JsonGenerator g, SizeReport r) throws IOException {
        ClosureDiff.Result d = r.diff();
        if (d == null) {
            g.writeNullField("diff");
            return;
        }
        g.writeObjectFieldStart("diff");
        ReportJson.strings(g, "baselineRoots", r.baselineRoots());
        g.writeNumberField("pathsBefore", d.pathsBefore());
        g.writeNumberField("pathsAfter", d.pathsAfter());
        g.writeNumberField("sizeBefore", d.sizeBefore());
        g.writeNumberField("sizeAfter", d.sizeAfter());
        g.writeNumberField("sizeDelta", d.sizeDelta());
        g.writeArrayFieldStart("packages");
        for (ClosureDiff.Package p : d.packages()) {
            g.writeStartObject();
            g.writeStringField("name", p.name());
            g.writeStringField("change", p.change().label());
            ReportJson.strings(g, "versionsBefore", p.versionsBefore());
            ReportJson.strings(g, "versionsAfter", p.versionsAfter());
            g.writeNumberField("sizeBefore", p.sizeBefore());
            g.writeNumberField("sizeAfter", p.sizeAfter());
            g.writeNumberField("sizeDelta", p.sizeDelta());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }
}
