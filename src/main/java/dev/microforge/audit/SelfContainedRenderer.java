package dev.microforge.audit;

import dev.microforge.util.Sizes;
import java.util.List;
import java.util.Locale;

/** Renders a {@link SelfContainedReport} as text, Markdown or JSON. */
public final class SelfContainedRenderer {
    private SelfContainedRenderer() {}

    public static String render(SelfContainedReport r, ReportFormat f) {
        return switch (f) {
            case TEXT -> text(r);
            case MARKDOWN -> markdown(r);
            case JSON -> json(r);
            case HTML -> throw new IllegalArgumentException("no HTML report for audit self-contained");
        };
    }

    static String location(SelfContainedReport.Finding f) {
        if (f.kind() == SelfContainedReport.Kind.MISSING) {
            return f.path();
        }
        return (f.file().isEmpty() ? f.path() : f.path() + "/" + f.file()) + " (" + f.where() + ")";
    }

    static String describe(SelfContainedReport.Finding f) {
        return switch (f.kind()) {
            case MISSING -> f.path() + " declares " + f.reference() + ", which is not in the closure";
            case UNDECLARED -> location(f) + " refers to " + f.reference() + " (in the closure, not declared)";
            case OUTSIDE -> location(f) + " refers to " + f.reference() + " (not in the closure)";
        };
    }

    private static String failedNames(List<SizeReport.Rule> failed) {
        return String.join(", ", failed.stream().map(SizeReport.Rule::rule).toList());
    }

    private static String candidates(SelfContainedReport r) {
        return r.closureCandidates() + " closure hashes"
                + (r.candidateStore().isEmpty() ? "" : " + " + r.storeCandidates() + " other store path" + (r.storeCandidates() == 1 ? "" : "s") + " in " + r.candidateStore());
    }

    static String text(SelfContainedReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("closure: ").append(r.paths()).append(r.paths() == 1 ? " path" : " paths").append(", ")
                .append(Sizes.human(r.narBytes())).append(" of NAR scanned for ").append(candidates(r)).append('\n');
        for (String w : r.warnings()) {
            sb.append("WARNING: ").append(w).append('\n');
        }
        for (SelfContainedReport.Kind k : SelfContainedReport.Kind.values()) {
            List<SelfContainedReport.Finding> fs = r.findings().stream().filter(f -> f.kind() == k).toList();
            if (!fs.isEmpty()) {
                sb.append('\n').append(k.rule()).append(":\n");
                for (SelfContainedReport.Finding f : fs) {
                    sb.append("  ").append(describe(f)).append('\n');
                }
            }
        }
        if (!r.stale().isEmpty()) {
            sb.append('\n').append("declared but not found in the bytes (harmless, the closure is only larger):\n");
            for (SelfContainedReport.Stale s : r.stale()) {
                sb.append("  ").append(s.path()).append(" -> ").append(s.reference()).append('\n');
            }
        }
        if (!r.forbidPatterns().isEmpty()) {
            sb.append('\n');
            if (r.forbidden().isEmpty()) {
                sb.append("forbidden paths: none (").append(String.join(", ", r.forbidPatterns())).append(")\n");
            } else {
                sb.append("forbidden paths:\n");
                for (SizeReport.Forbidden f : r.forbidden()) {
                    sb.append("  ").append(f.path()).append(" matches ").append(f.pattern()).append('\n');
                    sb.append("    why: ").append(SizeReportRenderer.chain(f.why(), " -> ")).append('\n');
                }
            }
        }
        if (r.image() != null) {
            sb.append('\n').append("image ").append(r.image()).append(": ");
            if (r.imageReferences().isEmpty()) {
                sb.append("no store path hash of the closure in its bytes\n");
            } else {
                sb.append(r.imageReferences().size()).append(" store path hash")
                        .append(r.imageReferences().size() == 1 ? "" : "es").append(" of the closure in its bytes:\n");
                for (String p : r.imageReferences()) {
                    sb.append("  ").append(p).append('\n');
                }
                sb.append("  remedy: ").append(SelfContainedAudit.IMAGE_REMEDY).append('\n');
            }
        }
        sb.append('\n').append("rules:\n");
        for (SizeReport.Rule rule : r.rules()) {
            sb.append(rule.ok() ? "  ok    " : "  FAIL  ").append(String.format(Locale.ROOT, "%-22s", rule.rule()))
                    .append(rule.message()).append('\n');
        }
        sb.append(r.ok() ? "result: ok (self-contained)\n" : "result: FAILED (" + failedNames(r.failed()) + ")\n");
        return sb.toString();
    }

    static String markdown(SelfContainedReport r) {
        StringBuilder sb = new StringBuilder();
        sb.append("### microforge audit self-contained: ").append(r.ok() ? "✅ passed" : "❌ failed (" + failedNames(r.failed()) + ")")
                .append("\n\n");
        sb.append("**").append(r.paths()).append(r.paths() == 1 ? " path" : " paths").append("**, ")
                .append(Sizes.human(r.narBytes())).append(" of NAR scanned for ").append(Markdown.text(candidates(r))).append(".\n\n");
        for (String w : r.warnings()) {
            sb.append("> ⚠️ **Warning:** ").append(Markdown.text(w)).append("\n\n");
        }
        sb.append("| rule | result | detail |\n|---|---|---|\n");
        for (SizeReport.Rule rule : r.rules()) {
            sb.append("| ").append(rule.rule()).append(" | ").append(rule.ok() ? "✅ ok" : "❌ **failed**").append(" | ")
                    .append(Markdown.text(rule.message())).append(" |\n");
        }
        if (!r.findings().isEmpty()) {
            sb.append("\n#### Findings\n\n| rule | store path | file | where | refers to |\n|---|---|---|---|---|\n");
            for (SelfContainedReport.Finding f : r.findings()) {
                sb.append("| ").append(f.kind().rule()).append(" | ").append(Markdown.code(SizeReportRenderer.name(f.path())))
                        .append(" | ").append(f.file().isEmpty() ? "" : Markdown.code(f.file())).append(" | ")
                        .append(Markdown.text(f.where())).append(" | ").append(Markdown.code(f.reference())).append(" |\n");
            }
        }
        if (!r.forbidden().isEmpty()) {
            sb.append("\n#### Forbidden paths\n\n| pattern | path | why |\n|---|---|---|\n");
            for (SizeReport.Forbidden f : r.forbidden()) {
                sb.append("| ").append(Markdown.code(f.pattern())).append(" | ").append(Markdown.code(f.path())).append(" | ");
                for (int i = 0; i < f.why().size(); i++) {
                    sb.append(i > 0 ? " → " : "").append(Markdown.code(SizeReportRenderer.name(f.why().get(i))));
                }
                sb.append(" |\n");
            }
        }
        if (r.image() != null && !r.imageReferences().isEmpty()) {
            sb.append("\n#### Store path hashes in the image\n\n");
            for (String p : r.imageReferences()) {
                sb.append("- ").append(Markdown.code(p)).append('\n');
            }
            sb.append("\nRemedy: ").append(Markdown.text(SelfContainedAudit.IMAGE_REMEDY)).append(".\n");
        }
        if (!r.stale().isEmpty()) {
            sb.append("\n").append(r.stale().size()).append(" declared reference").append(r.stale().size() == 1 ? "" : "s")
                    .append(" not found in the bytes (harmless).\n");
        }
        return sb.toString();
    }

    static String json(SelfContainedReport r) {
        return ReportJson.render(g -> {
            g.writeStartObject();
            g.writeNumberField("schemaVersion", SelfContainedReport.SCHEMA_VERSION);
            g.writeStringField("report", "audit-self-contained");
            g.writeBooleanField("ok", r.ok());
            ReportJson.strings(g, "failedRules", r.failed().stream().map(SizeReport.Rule::rule).toList());
            g.writeNumberField("paths", r.paths());
            g.writeNumberField("narBytes", r.narBytes());
            g.writeObjectFieldStart("candidates");
            g.writeNumberField("closure", r.closureCandidates());
            g.writeNumberField("store", r.storeCandidates());
            if (r.candidateStore().isEmpty()) {
                g.writeNullField("storeDir");
            } else {
                g.writeStringField("storeDir", r.candidateStore());
            }
            g.writeEndObject();
            ReportJson.strings(g, "warnings", r.warnings());
            g.writeArrayFieldStart("findings");
            for (SelfContainedReport.Finding f : r.findings()) {
                g.writeStartObject();
                g.writeStringField("kind", f.kind().label());
                g.writeStringField("rule", f.kind().rule());
                g.writeStringField("path", f.path());
                g.writeStringField("file", f.file());
                g.writeStringField("where", f.where());
                g.writeStringField("reference", f.reference());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("stale");
            for (SelfContainedReport.Stale s : r.stale()) {
                g.writeStartObject();
                g.writeStringField("path", s.path());
                g.writeStringField("reference", s.reference());
                g.writeEndObject();
            }
            g.writeEndArray();
            SizeReportRenderer.writeForbidden(g, r.forbidPatterns(), r.forbidden());
            if (r.image() == null) {
                g.writeNullField("image");
            } else {
                g.writeObjectFieldStart("image");
                g.writeStringField("file", r.image());
                ReportJson.strings(g, "references", r.imageReferences());
                if (r.imageReferences().isEmpty()) {
                    g.writeNullField("remedy");
                } else {
                    g.writeStringField("remedy", SelfContainedAudit.IMAGE_REMEDY);
                }
                g.writeEndObject();
            }
            g.writeArrayFieldStart("rules");
            for (SizeReport.Rule rule : r.rules()) {
                g.writeStartObject();
                g.writeStringField("rule", rule.rule());
                g.writeBooleanField("ok", rule.ok());
                g.writeNumberField("actual", rule.actual());
                g.writeStringField("message", rule.message());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }
}
