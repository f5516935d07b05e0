package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.JarCli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An OutOfMemoryError or StackOverflowError is one line and exit 1, not the JVM's stack trace. */
class FatalErrorTest {
    @Test
    void outOfMemoryIsOneLineAndExit1(@TempDir Path tmp) throws Exception {
        // a valid 60000-path closure (12 MB of JSON) read with a 24 MiB heap
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 60_000; i++) {
            String h = String.format("%032d", i).chars().mapToObj(c -> String.valueOf("abcdfghijk".charAt(c - '0')))
                    .reduce("", String::concat);
            sb.append(i == 0 ? "" : ",").append("{\"path\":\"/nix/store/").append(h).append("-p\",\"narHash\":")
                    .append("\"sha256-PlH7UtvFL7ao4Ru77qmIwtXBK9jQUmHn7uk6CD7dX6k=\",\"narSize\":1,\"references\":[]}");
        }
        Path big = tmp.resolve("big.json");
        Files.writeString(big, sb.append("]").toString(), StandardCharsets.UTF_8);
        JarCli.Result r = JarCli.run(List.of("closure", "show", "--closure", big.toString()), null, 24, 120);
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().startsWith("microforge: out of memory (Java heap space, maximum heap "), r.err());
        assertTrue(r.err().endsWith("; raise it with MICROFORGE_JAVA_OPTS=-Xmx1024m\n"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }
}
