package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A million-path closure through the real jar in a 256 MiB heap: {@code closure show} (text, the whole output read
 * back) and {@code audit size} finish; in a heap that cannot hold the graph the run ends with the one-line
 * out-of-memory message and exit 1, not a stack trace.
 */
@Tag("packaged")
class MillionPathsTest {
    static final int N = 1_000_000;

    @TempDir
    Path tmp;

    static byte[] path(int i) {
        return (SameHashPartTest.path(i, false) + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The binary tree of {@link SameHashPartTest} (path i refers to 2i + 1 and 2i + 2), with or without hash and size lines. */
    static Path write(Path f, boolean registration) throws IOException {
        byte[] hash = ("sha256:" + "0".repeat(52) + "\n").getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(f), 1 << 16)) {
            for (int i = 0; i < N; i++) {
                out.write(path(i));
                if (registration) {
                    out.write(hash);
                    out.write((1000 + i + "\n").getBytes(StandardCharsets.US_ASCII));
                }
                int refs = Math.max(0, Math.min(N, 2 * i + 3) - (2 * i + 1));
                out.write(("\n" + refs + "\n").getBytes(StandardCharsets.US_ASCII));
                for (int c = 2 * i + 1; c < 2 * i + 1 + refs; c++) {
                    out.write(path(c));
                }
            }
        }
        return f;
    }

    record Run(int exit, long lines, String lastLine, String err) {}

    /** The launcher (target/microforge) with {@code heap}; stdout is consumed as it comes (counted, last line kept). */
    static Run jar(String heap, String... args) throws Exception {
        // through the launcher, as users run it (it picks the collector for these commands); the heap from MICROFORGE_JAVA_OPTS
        Path launcher = Path.of(System.getProperty("microforge.jar", "target/microforge.jar")).toAbsolutePath().resolveSibling("microforge");
        assertTrue(Files.isExecutable(launcher), launcher + " is missing: run 'mvn package' first");
        List<String> cmd = new ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("MICROFORGE_JAVA_OPTS", "-Xmx" + heap);
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process p = pb.start();
        byte[][] errBox = new byte[1][];
        Thread errReader = new Thread(() -> {
            try {
                errBox[0] = p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                errBox[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        errReader.start();
        long lines = 0;
        StringBuilder last = new StringBuilder();
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[1 << 16];
            int r;
            boolean newline = true;
            while ((r = in.read(buf)) > 0) {
                for (int i = 0; i < r; i++) {
                    if (newline) {
                        last.setLength(0);
                        newline = false;
                    }
                    if (buf[i] == '\n') {
                        lines++;
                        newline = true;
                    } else if (last.length() < 200) {
                        last.append((char) buf[i]);
                    }
                }
            }
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "jar run did not end");
        errReader.join();
        return new Run(p.exitValue(), lines, last.toString(), new String(errBox[0], StandardCharsets.UTF_8));
    }

    @Test
    void closureShowAndAuditSizeFitIn256MiB() throws Exception {
        Path graph = write(tmp.resolve("graph"), false);
        Run show = jar("256m", "closure", "show", "--closure", graph.toString());
        assertEquals(0, show.exit(), show.err());
        assertEquals("", show.err());
        // every path, its references (all but the root are referenced once), the summary line
        assertEquals(N + (N - 1) + 1, show.lines());
        assertEquals(N + " paths, narSize unknown, roots: " + SameHashPartTest.path(0, false), show.lastLine());
        Files.delete(graph);

        Path reg = write(tmp.resolve("registration"), true);
        Run size = jar("256m", "audit", "size", "--closure", reg.toString(), "--top", "3", "--format", "json");
        assertEquals(0, size.exit(), size.err());
        assertEquals("", size.err());
        assertEquals("}", size.lastLine());

        Run small = jar("24m", "audit", "size", "--closure", reg.toString());
        assertEquals(1, small.exit(), small.err());
        assertTrue(small.err().matches("microforge: out of memory \\(Java heap space, maximum heap \\d+ MiB\\); raise it with"
                + " MICROFORGE_JAVA_OPTS=-Xmx\\d+m\\n"), small.err());
        assertEquals(0, small.lines());
    }
}
