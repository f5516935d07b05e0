package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Chromium;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Sizes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report of {@code audit size} rendered by a real headless Chromium and checked through its DOM against
 * Nix: the total and every listed path's closure size against {@code nix path-info -S}, the order of the list against
 * added sizes computed by brute force from Nix's registered references (remove the path, sum what is still reachable),
 * the why-chain shown after a mouse click on the treemap against a breadth-first search over Nix's references, the
 * referrers against {@code nix-store -q --references} of the closure, and the diff classification against
 * {@code builtins.compareVersions}. Screenshots go to {@code target/browser-screenshots/}.
 */
@Tag("oracle")
class HtmlReportBrowserTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String READY = "document.documentElement !== null && document.documentElement.getAttribute('data-ready') === 'true'";
    static final Path SHOTS = Tools.projectRoot().resolve("target/browser-screenshots");

    static String name(String path) {
        return SizeReportRenderer.name(path);
    }

    /** path -> [narSize, closureSize] from {@code nix path-info --json -S -r}. */
    static Map<String, long[]> nixSizes(Path top) throws IOException {
        List<String> cmd = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "--option", "substituters", "", "path-info", "--json", "-S", "-r", top.toString());
        Map<String, long[]> out = new HashMap<>();
        for (JsonNode n : JSON.readTree(AuditOracleTest.run(cmd))) {
            out.put(n.get("path").asText(), new long[] {n.get("narSize").asLong(), n.get("closureSize").asLong()});
        }
        return out;
    }

    /** Bytes reachable from {@code root} over Nix's references when {@code removed} is taken out. */
    static long reachableWithout(String root, String removed, Map<String, List<String>> refs, Map<String, long[]> sizes) {
        if (root.equals(removed)) {
            return 0;
        }
        Set<String> seen = new HashSet<>(List.of(root));
        ArrayDeque<String> q = new ArrayDeque<>(List.of(root));
        long sum = 0;
        while (!q.isEmpty()) {
            String p = q.poll();
            sum += sizes.get(p)[0];
            for (String r : refs.get(p)) {
                if (!r.equals(removed) && seen.add(r)) {
                    q.add(r);
                }
            }
        }
        return sum;
    }

    @Test
    void fixtureClosureInChromium(@TempDir Path tmp) throws Exception {
        Path top = AuditOracleTest.fixture("top");
        Map<String, long[]> nix = nixSizes(top);
        List<String> members = NixFixtures.requisites(top);
        Map<String, List<String>> refs = new LinkedHashMap<>();
        for (String p : members) {
            refs.put(p, NixFixtures.references(p));
        }
        long total = nix.get(top.toString())[1];
        // added size by brute force: what leaves the closure when the path goes
        Map<String, Long> added = new HashMap<>();
        for (String p : members) {
            added.put(p, total - reachableWithout(top.toString(), p, refs, nix));
        }
        List<String> expectedOrder = new ArrayList<>(members);
        expectedOrder.sort(Comparator.<String>comparingLong(added::get).reversed().thenComparing(Comparator.naturalOrder()));

        Path html = tmp.resolve("report.html");
        Cli.Result r = Cli.run("audit", "size", "--from-store", top.toString(), "--format", "html", "-o", html.toString(),
                "--budget", "1M", "--forbid", "*-gcc-*");
        assertEquals(3, r.exitCode(), r.err());
        assertTrue(r.err().contains("budget") && r.err().contains("forbid"), r.err());
        assertEquals("", r.out());
        assertNoNetwork(Files.readString(html));

        try (Chromium c = Chromium.start(tmp.resolve("profile"), 1280, 1500)) {
            c.open(html, READY, 30_000);
            JsonNode totals = c.evaluate("(() => { const t = document.getElementById('total'); "
                    + "return [Number(t.dataset.bytes), Number(t.dataset.paths), t.textContent]; })()");
            assertEquals(total, totals.get(0).asLong(), "total vs nix path-info -S");
            assertEquals(members.size(), totals.get(1).asInt());
            assertEquals(members.size() + " paths, " + Sizes.human(total), totals.get(2).asText());

            // the list, biggest added size first, with the sizes Nix's references give
            JsonNode rows = c.evaluate("Array.from(document.querySelectorAll('#list tbody tr'))"
                    + ".map(tr => Array.from(tr.cells).map(td => td.textContent))");
            assertEquals(members.size(), rows.size());
            for (int i = 0; i < rows.size(); i++) {
                String p = expectedOrder.get(i);
                assertEquals(name(p), rows.get(i).get(1).asText(), "row " + i);
                assertEquals(Sizes.human(added.get(p)), rows.get(i).get(2).asText(), "added size of " + p);
                assertEquals(Sizes.human(nix.get(p)[0]), rows.get(i).get(3).asText(), "NAR size of " + p);
            }

            // rules at the top: budget and forbid failed, the gcc library named
            JsonNode rules = c.evaluate("Array.from(document.querySelectorAll('#rules tbody tr')).map(tr => tr.dataset.rule + ' ' + tr.cells[1].textContent)");
            assertEquals(List.of("budget failed", "forbid failed"), List.of(rules.get(0).asText(), rules.get(1).asText()));
            assertTrue(c.evaluate("document.getElementById('forbidden').textContent").asText().contains("mini-gcc-13.2.0-lib"));
            assertEquals("failed", c.evaluate("document.getElementById('result').textContent").asText());

            // hover and click libbig in the treemap with the mouse
            String libbig = members.stream().filter(p -> p.endsWith("-libbig-1.0")).findFirst().orElseThrow();
            JsonNode at = c.evaluate("(() => { const r = microforgeReport.rectOf('libbig-1.0'); const b = document.getElementById('map').getBoundingClientRect();"
                    + " window.scrollTo(0, 0); return r && [b.left + r.x + r.w / 2, b.top + r.y + r.h / 2]; })()");
            assertTrue(at.isArray(), "libbig is not drawn in the treemap");
            c.send("Input.dispatchMouseEvent", Map.of("type", "mouseMoved", "x", at.get(0).asDouble(), "y", at.get(1).asDouble()));
            String tip = c.evaluate("document.getElementById('tip').hidden ? '' : document.getElementById('tip').textContent").asText();
            assertTrue(tip.startsWith("libbig-1.0"), tip);
            assertTrue(tip.contains("closure " + Sizes.human(nix.get(libbig)[1])), tip + " vs nix path-info -S " + nix.get(libbig)[1]);
            assertTrue(tip.contains("added " + Sizes.human(added.get(libbig))), tip);
            c.click(at.get(0).asDouble(), at.get(1).asDouble());
            assertEquals(libbig, c.evaluate("document.getElementById('selected-path').textContent").asText());
            JsonNode chain = c.evaluate("Array.from(document.querySelectorAll('#why-chain button')).map(b => b.title)");
            List<String> shown = new ArrayList<>();
            chain.forEach(n -> shown.add(n.asText()));
            assertEquals(shortest(top.toString(), libbig, refs), shown.size(), "chain length vs BFS over Nix references: " + shown);
            assertEquals(top.toString(), shown.get(0));
            assertEquals(libbig, shown.get(shown.size() - 1));
            for (int i = 0; i + 1 < shown.size(); i++) {
                assertTrue(refs.get(shown.get(i)).contains(shown.get(i + 1)), shown + ": step " + i + " is not a Nix reference");
            }
            List<String> referrers = new ArrayList<>();
            for (String p : members) {
                if (!p.equals(libbig) && refs.get(p).contains(libbig)) {
                    referrers.add(p);
                }
            }
            JsonNode shownReferrers = c.evaluate("Array.from(document.querySelectorAll('#referrers button')).map(b => b.title).sort()");
            assertEquals(referrers.stream().sorted().toList(), JSON.convertValue(shownReferrers, List.class));
            c.screenshot(SHOTS.resolve("audit-size-fixture.png"));

            // keyboard: search narrows the list, Enter on a row selects it
            c.evaluate("(() => { const s = document.getElementById('search'); s.value = 'tool'; s.dispatchEvent(new Event('input')); })()");
            Thread.sleep(300);
            JsonNode found = c.evaluate("Array.from(document.querySelectorAll('#list tbody tr')).map(tr => tr.cells[1].textContent)");
            assertEquals(List.of("tool-2.0"), JSON.convertValue(found, List.class));
            c.evaluate("document.querySelector('#list tbody tr').focus()");
            c.key("Enter");
            assertTrue(c.evaluate("document.getElementById('selected-path').textContent").asText().endsWith("-tool-2.0"));
            // printed: the controls are hidden, the tables and the treemap stay; Chromium's PDF has the pages
            c.send("Emulation.setEmulatedMedia", Map.of("media", "print"));
            JsonNode print = c.evaluate("['search', 'up', 'zoom', 'map', 'list', 'rules'].map(id => getComputedStyle(document.getElementById(id)).display)");
            assertEquals(List.of("none", "none", "none", "block", "table", "table"), JSON.convertValue(print, List.class));
            c.screenshot(SHOTS.resolve("audit-size-fixture-print.png"));
            String pdf = c.send("Page.printToPDF", Map.of()).get("data").asText();
            assertTrue(new String(java.util.Base64.getDecoder().decode(pdf), StandardCharsets.ISO_8859_1).startsWith("%PDF-"));
            assertEquals(List.of(), c.pageErrors());
        }
    }

    static int shortest(String from, String to, Map<String, List<String>> refs) {
        Map<String, Integer> dist = new HashMap<>(Map.of(from, 1));
        ArrayDeque<String> q = new ArrayDeque<>(List.of(from));
        while (!q.isEmpty()) {
            String p = q.poll();
            if (p.equals(to)) {
                return dist.get(p);
            }
            for (String r : refs.get(p)) {
                if (!dist.containsKey(r)) {
                    dist.put(r, dist.get(p) + 1);
                    q.add(r);
                }
            }
        }
        return -1;
    }

    static void assertNoNetwork(String html) {
        for (String bad : List.of("http://", "https://", "<link", "src=", "@import", "url(")) {
            assertTrue(!html.contains(bad), "the report refers to something outside itself: " + bad);
        }
    }

    /** {@code builtins.compareVersions a b} evaluated by Nix. */
    static int nixCompare(String a, String b) throws IOException {
        List<String> cmd = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--expr",
                "builtins.compareVersions " + NixFixtures.nixString(a) + " " + NixFixtures.nixString(b));
        return Integer.parseInt(new String(AuditOracleTest.run(cmd)).trim());
    }

    @Test
    void diffAndHostileNamesInChromium(@TempDir Path tmp) throws Exception {
        TestGraphs.B before = new TestGraphs.B()
                .path("top-1", 4_096, "firefox-120.0", "openssl-3.0.13", "oldpkg-2.0", "glibc-2.38", "libfoo-1.0pre1")
                .path("firefox-120.0", 80_000_000, "glibc-2.38")
                .path("openssl-3.0.13", 6_000_000, "glibc-2.38")
                .path("oldpkg-2.0", 300_000, "glibc-2.38")
                .path("libfoo-1.0pre1", 50_000, "glibc-2.38")
                .path("glibc-2.38", 30_000_000);
        TestGraphs.B after = new TestGraphs.B()
                .path("top-1", 4_096, "firefox-121.0", "openssl-3.0.12", "newpkg-1.0", "glibc-2.38", "libfoo-1.0")
                .path("firefox-121.0", 84_000_000, "glibc-2.38")
                .path("openssl-3.0.12", 5_990_000, "glibc-2.38")
                .path("newpkg-1.0", 2_000_000, "glibc-2.38")
                .path("libfoo-1.0", 50_000, "glibc-2.38")
                .path("glibc-2.38", 30_000_000);
        Path base = tmp.resolve("baseline.registration");
        Files.writeString(base, before.registration());
        // a closure file whose name and a --forbid pattern try to end the data element and run a script
        Path cur = tmp.resolve("</script><script>window.pwned=1</script><!--.registration");
        Files.createDirectories(cur.getParent());
        Files.writeString(cur, after.registration());
        String hostile = "*</script><script>window.pwned=2</script>\u2028\u2029<!--*";
        Path html = tmp.resolve("diff.html");
        Cli.Result r = Cli.run("audit", "size", "--closure", cur.toString(), "--baseline", base.toString(), "--format", "html",
                "-o", html.toString(), "--forbid", hostile, "--max-growth", "1%");
        assertEquals(3, r.exitCode(), r.err());
        String text = Files.readString(html);
        assertEquals(2, text.split("</script", -1).length - 1, "only the two real script elements end");

        Map<String, String> expected = new LinkedHashMap<>();
        for (String[] v : new String[][] {{"firefox", "120.0", "121.0"}, {"openssl", "3.0.13", "3.0.12"}, {"libfoo", "1.0pre1", "1.0"}}) {
            int c = nixCompare(v[1], v[2]);
            expected.put(v[0], c < 0 ? "upgrade" : c > 0 ? "downgrade" : "changed");
        }
        expected.put("newpkg", "added");
        expected.put("oldpkg", "removed");
        assertEquals(Map.of("firefox", "upgrade", "openssl", "downgrade", "libfoo", "upgrade", "newpkg", "added", "oldpkg", "removed"),
                expected, "Nix's own classification of the fixture versions");

        try (Chromium c = Chromium.start(tmp.resolve("profile"), 1280, 1500)) {
            c.open(html, READY, 30_000);
            assertTrue(c.evaluate("window.pwned === undefined").asBoolean(), "a name ran a script");
            JsonNode rows = c.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#diff tbody tr')).map(tr => [tr.dataset.package, tr.dataset.change]))");
            assertEquals(expected, JSON.convertValue(rows, Map.class));
            JsonNode sizes = c.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#diff tbody tr')).map(tr => [tr.dataset.package, tr.cells[3].textContent]))");
            assertEquals("+" + Sizes.human(4_000_000), sizes.get("firefox").asText());
            assertEquals("-" + Sizes.human(300_000), sizes.get("oldpkg").asText());
            assertEquals("[U] 2 upgraded, [D] 1 downgraded, [A] 1 added, [R] 1 removed, [C] 0 changed",
                    c.evaluate("document.getElementById('diff-counts').textContent").asText());
            // the hostile strings arrive intact as text
            String rulesText = c.evaluate("document.getElementById('forbidden').textContent").asText();
            assertTrue(rulesText.contains(hostile), rulesText);
            assertTrue(c.evaluate("document.getElementById('summary').textContent").asText().contains(cur.toString()));
            JsonNode maxGrowth = c.evaluate("document.querySelector('#rules tr[data-rule=\"max-growth\"]').cells[1].textContent");
            assertEquals("failed", maxGrowth.asText());
            c.screenshot(SHOTS.resolve("audit-size-diff.png"));
            assertEquals(List.of(), c.pageErrors());
        }
    }
}
