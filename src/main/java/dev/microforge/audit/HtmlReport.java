package dev.microforge.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.store.StorePath;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code audit size --format html}: one self-contained HTML file (inline script and style, nothing fetched) with the
 * whole closure as data: every reachable path's base name, narSize, added size, immediate dominator, why-chain parent
 * and references, plus the report's rules, forbidden paths and package diff. The page draws the treemap by added size
 * nested by dominator, the why-chain and referrers of a clicked path, the diff, a searchable and sortable list.
 *
 * <p>The data sits in a {@code <script type="application/json">} element; every {@code <}, {@code >}, {@code &},
 * U+2028 and U+2029 in it is written as a JSON {@code \\uXXXX} escape, so no string (a file name, a {@code --forbid}
 * pattern) can end the element or open a comment. Deterministic: the same graph and report give the same bytes.
 */
public final class HtmlReport {
    static final String MARKER = "@@MICROFORGE_REPORT_DATA@@";

    private HtmlReport() {}

    /**
     * @param g     the audited graph (sizes known for every reachable member)
     * @param roots the {@code --root} paths the report was run with (empty: as {@link SizeAudit} chose them)
     * @param r     the report {@link SizeAudit#run} returned for the same graph and roots
     */
    public static String render(ClosureGraph g, List<StorePath> roots, SizeReport r) {
        String template = template();
        int at = template.indexOf(MARKER);
        return template.substring(0, at) + data(g, roots, r) + template.substring(at + MARKER.length());
    }

    static String template() {
        try (InputStream in = HtmlReport.class.getResourceAsStream("report.html")) {
            if (in == null) {
                throw new IllegalStateException("report.html is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON data block, already escaped for a script element. */
    static String data(ClosureGraph g, List<StorePath> rootPaths, SizeReport r) {
        int n = g.size();
        int[] roots = Reach.roots(g, rootPaths);
        long[] sizes = Reach.sizes(g);
        WhyChains why = WhyChains.compute(n, g.refStarts(), g.refTargets(), roots);
        Dominators dom = Dominators.compute(n, g.refStarts(), g.refTargets(), roots, sizes);
        // reachable members in path order get ids 0..k-1
        int[] id = new int[n];
        int k = 0;
        for (int v = 0; v < n; v++) {
            id[v] = dom.reachable(v) ? k++ : -1;
        }
        int[] node = new int[k];
        for (int v = 0; v < n; v++) {
            if (id[v] >= 0) {
                node[id[v]] = v;
            }
        }
        Map<String, Integer> byPath = new HashMap<>();
        ClosureDiff.Result diff = r.diff();
        Map<String, Integer> pkgIndex = new HashMap<>();
        if (diff != null) {
            for (int i = 0; i < diff.packages().size(); i++) {
                pkgIndex.put(diff.packages().get(i).name(), i);
            }
        }
        StringWriter w = new StringWriter();
        try (JsonGenerator j = new JsonFactory().createGenerator(w)) {
            j.writeStartObject();
            j.writeNumberField("schemaVersion", 1);
            j.writeStringField("source", g.source());
            j.writeStringField("storeDir", g.storeDir());
            j.writeBooleanField("ok", r.ok());
            j.writeNumberField("paths", r.paths());
            j.writeNumberField("closureSize", r.closureSize());
            j.writeArrayFieldStart("roots");
            for (int v : roots) {
                j.writeNumber(id[v]);
            }
            j.writeEndArray();
            j.writeArrayFieldStart("names");
            int[] off = g.nameOffsets();
            byte[] bytes = g.nameBytes();
            for (int v : node) {
                j.writeString(new String(bytes, off[v], off[v + 1] - off[v], StandardCharsets.ISO_8859_1));
            }
            j.writeEndArray();
            j.writeArrayFieldStart("nar");
            for (int v : node) {
                j.writeNumber(Math.max(0, sizes[v]));
            }
            j.writeEndArray();
            j.writeArrayFieldStart("added");
            for (int v : node) {
                j.writeNumber(dom.addedSize(v));
            }
            j.writeEndArray();
            j.writeArrayFieldStart("idom");
            for (int v : node) {
                int d = dom.idom(v);
                j.writeNumber(d < 0 ? -1 : id[d]);
            }
            j.writeEndArray();
            j.writeArrayFieldStart("why");
            for (int v : node) {
                int p = why.parent(v);
                j.writeNumber(p < 0 ? -1 : id[p]);
            }
            j.writeEndArray();
            // references in compressed rows (self-references dropped: they change no size and no chain)
            int[] start = g.refStarts();
            int[] targets = g.refTargets();
            j.writeArrayFieldStart("refStart");
            int edges = 0;
            j.writeNumber(0);
            for (int v : node) {
                for (int e = start[v]; e < start[v + 1]; e++) {
                    if (targets[e] != v) {
                        edges++;
                    }
                }
                j.writeNumber(edges);
            }
            j.writeEndArray();
            j.writeArrayFieldStart("refs");
            for (int v : node) {
                for (int e = start[v]; e < start[v + 1]; e++) {
                    if (targets[e] != v) {
                        j.writeNumber(id[targets[e]]);
                    }
                }
            }
            j.writeEndArray();
            for (int i = 0; i < k; i++) {
                byPath.put(g.pathString(node[i]), i);
            }
            j.writeArrayFieldStart("top");
            for (SizeReport.Entry e : r.biggest()) {
                j.writeNumber(byPath.getOrDefault(e.path(), -1));
            }
            j.writeEndArray();
            j.writeArrayFieldStart("rules");
            for (SizeReport.Rule rule : r.rules()) {
                j.writeStartObject();
                j.writeStringField("rule", rule.rule());
                j.writeBooleanField("ok", rule.ok());
                j.writeNumberField("limit", rule.limit());
                j.writeNumberField("actual", rule.actual());
                j.writeStringField("message", rule.message());
                j.writeEndObject();
            }
            j.writeEndArray();
            j.writeArrayFieldStart("forbidPatterns");
            for (String p : r.forbidPatterns()) {
                j.writeString(p);
            }
            j.writeEndArray();
            j.writeArrayFieldStart("forbidden");
            for (SizeReport.Forbidden f : r.forbidden()) {
                j.writeStartObject();
                j.writeStringField("pattern", f.pattern());
                j.writeNumberField("node", byPath.getOrDefault(f.path(), -1));
                j.writeEndObject();
            }
            j.writeEndArray();
            if (diff == null) {
                j.writeNullField("diff");
            } else {
                j.writeObjectFieldStart("diff");
                j.writeNumberField("pathsBefore", diff.pathsBefore());
                j.writeNumberField("sizeBefore", diff.sizeBefore());
                j.writeNumberField("pathsAfter", diff.pathsAfter());
                j.writeNumberField("sizeAfter", diff.sizeAfter());
                j.writeArrayFieldStart("packages");
                for (ClosureDiff.Package p : diff.packages()) {
                    j.writeStartObject();
                    j.writeStringField("name", p.name());
                    j.writeStringField("change", VersionChange.versionsChanged(p) ? VersionChange.of(p).label() : "size");
                    j.writeArrayFieldStart("versionsBefore");
                    for (String v : p.versionsBefore()) {
                        j.writeString(v);
                    }
                    j.writeEndArray();
                    j.writeArrayFieldStart("versionsAfter");
                    for (String v : p.versionsAfter()) {
                        j.writeString(v);
                    }
                    j.writeEndArray();
                    j.writeNumberField("sizeBefore", p.sizeBefore());
                    j.writeNumberField("sizeAfter", p.sizeAfter());
                    j.writeEndObject();
                }
                j.writeEndArray();
                // each path's package in the list above, -1 when its package is not listed
                j.writeArrayFieldStart("packageOf");
                for (int v : node) {
                    Integer p = pkgIndex.get(PackageName.of(g.name(v)).name());
                    j.writeNumber(p == null ? -1 : p);
                }
                j.writeEndArray();
                j.writeEndObject();
            }
            j.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return escapeForScript(w.toString());
    }

    /**
     * JSON text made safe inside {@code <script type="application/json">}: {@code <}, {@code >}, {@code &}, U+2028 and
     * U+2029 (which appear only inside strings) become {@code \\uXXXX} escapes that {@code JSON.parse} reads back.
     */
    static String escapeForScript(String json) {
        StringBuilder sb = new StringBuilder(json.length() + 64);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            switch (c) {
                case '<' -> sb.append("\\u003c");
                case '>' -> sb.append("\\u003e");
                case '&' -> sb.append("\\u0026");
                case '\u2028' -> sb.append("\\u2028");
                case '\u2029' -> sb.append("\\u2029");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
