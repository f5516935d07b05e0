package dev.microforge.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need root (device nodes, tmpfs mounts) are {@code @Tag("root")}: a non-root quick loop excludes them
 * with {@code -DexcludedGroups=oracle,root}. Run without root they skip with the reason, in CI they fail.
 */
public final class Root {
    private Root() {}

    public static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid", LinkOption.NOFOLLOW_LINKS)) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Skips (or fails, in CI) a test that needs root. */
    public static void require(String why) {
        if (!isRoot()) {
            String msg = "needs root: " + why;
            if (Tools.inCi()) {
                throw new AssertionError(msg);
            }
            Assumptions.abort(msg);
        }
    }

    /** Runs a command that must succeed (mknod, mount, umount ...). */
    public static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
