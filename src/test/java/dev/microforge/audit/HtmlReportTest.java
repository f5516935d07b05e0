package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.closure.ClosureGraph;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTML report's data block: escaping, and the data the page draws from (the rendering: HtmlReportBrowserTest). */
class HtmlReportTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void escapedJsonParsesBackToTheSameStrings() throws Exception {
        String hostile = "</script><script>alert(1)</script><!-- \u2028\u2029 & > \"\\ é";
        String json = JSON.writeValueAsString(List.of(hostile, "</SCRIPT", "<!--"));
        String safe = HtmlReport.escapeForScript(json);
        for (String bad : List.of("<", ">", "&", "\u2028", "\u2029")) {
            assertFalse(safe.contains(bad), "raw " + bad + " left in " + safe);
        }
        assertEquals(List.of(hostile, "</SCRIPT", "<!--"), JSON.readValue(safe, List.class));
    }

    @Test
    void dataHoldsTheDominatorTreeAndChains() throws Exception {
        ClosureGraph g = TestGraphs.current().build();
        SizeReport r = SizeAudit.run(g, TestGraphs.baseline().build(),
                new SizeAudit.Options(List.of(), 3, -1, null, List.of(Glob.compile("*</script>*"))), dev.microforge.util.Events.NONE);
        String html = HtmlReport.render(g, List.of(), r);
        assertEquals(2, html.split("</script", -1).length - 1);
        assertFalse(html.contains(HtmlReport.MARKER));
        int from = html.indexOf("id=\"report-data\">") + "id=\"report-data\">".length();
        JsonNode d = JSON.readTree(html.substring(from, html.indexOf("</script>", from)));
        assertEquals(9, d.get("names").size());
        assertEquals(r.closureSize(), d.get("closureSize").asLong());
        assertEquals("*</script>*", d.get("forbidPatterns").get(0).asText());
        // names are in path order; the report's top 3 point at the same paths
        for (int i = 0; i < 3; i++) {
            int node = d.get("top").get(i).asInt();
            assertTrue(r.biggest().get(i).path().endsWith(d.get("names").get(node).asText()));
            assertEquals(r.biggest().get(i).addedSize(), d.get("added").get(node).asLong());
            // the why parents walk the report's chain backwards
            List<String> chain = r.biggest().get(i).why();
            int v = node;
            for (int k = chain.size() - 1; k >= 0; k--) {
                assertTrue(chain.get(k).endsWith(d.get("names").get(v).asText()), chain + " at " + k);
                v = d.get("why").get(v).asInt();
            }
            assertEquals(-1, v);
        }
        // diff: app upgraded 1.0 -> 1.1, gcc added
        JsonNode pk = d.get("diff").get("packages");
        assertEquals("app", pk.get(0).get("name").asText());
        assertEquals("upgrade", pk.get(0).get("change").asText());
    }
}
