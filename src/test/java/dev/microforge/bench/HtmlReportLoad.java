package dev.microforge.bench;

import dev.microforge.testkit.Chromium;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens an HTML report in headless Chromium and prints how long it took to become ready (data parsed, treemap and
 * list drawn): {@code java ... HtmlReportLoad REPORT.html PROFILE_DIR SCREENSHOT.png}. Prints
 * {@code load_ms=<wall from navigate to ready> render_ms=<performance.now() at ready> nodes=<paths>}.
 */
public final class HtmlReportLoad {
    private HtmlReportLoad() {}

    public static void main(String[] args) throws Exception {
        Path report = Path.of(args[0]);
        try (Chromium c = Chromium.start(Path.of(args[1]), 1280, 1000)) {
            long t0 = System.nanoTime();
            c.open(report, "document.documentElement !== null && document.documentElement.getAttribute('data-ready') === 'true'", 120_000);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            double render = c.evaluate("microforgeReport.renderedMs").asDouble();
            int rows = c.evaluate("document.querySelectorAll('#list tbody tr').length").asInt();
            String total = c.evaluate("document.getElementById('total').textContent").asText();
            if (args.length > 2) {
                c.screenshot(Path.of(args[2]), false);
            }
            System.out.printf("load_ms=%d render_ms=%.0f rows_shown=%d total=\"%s\" size_bytes=%d errors=%d%n", wall, render, rows, total,
                    Files.size(report), c.pageErrors().size());
        }
    }
}
