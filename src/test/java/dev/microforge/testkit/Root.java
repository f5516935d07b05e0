package dev.microforge.testkit;

import java.io.IOException;
import java.util.List;

/**
 * Tests that need root (device nodes, tmpfs mounts) are {@code @Tag("root")}: a non-root quick loop excludes them
 * with {@code -DexcludedGroups=oracle,root}. Run without root they skip with the reason, in strict mode they fail.
 */
public final class Root {
    private Root() {}

    public static boolean isRoot() {
        return Tools.isRoot();
    }

    /** Skips (or fails, in strict mode) a test that needs root: {@link Tools#requireRoot}. */
    public static void require(String why) {
        Tools.requireRoot(why);
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
