package dev.microforge.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External tools for oracle tests. On a developer machine a missing tool skips the test (with the reason);
 * in CI (environment variable CI set) a missing tool FAILS the test: oracle tests never skip silently there.
 */
public final class Tools {
    private Tools() {}

    public static boolean inCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isEmpty() && !ci.equals("false");
    }

    /** The absolute path of an executable found on PATH or at an absolute path; fails in CI, skips elsewhere. */
    public static Path require(String name) {
        Path p = find(name);
        if (p == null) {
            String msg = "required tool '" + name + "' not found (install with tests/install-deps.sh)";
            if (inCi()) {
                throw new AssertionError(msg);
            }
            Assumptions.abort(msg);
        }
        return p;
    }

    public static Path find(String name) {
        if (name.startsWith("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv("PATH");
        if (path == null) {
            path = "/usr/bin:/bin";
        }
        for (String dir : (path + ":/usr/sbin:/sbin").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    /** The project root (where pom.xml is). */
    public static Path projectRoot() {
        String r = System.getProperty("microforge.root");
        return Path.of(r != null ? r : ".").toAbsolutePath().normalize();
    }
}
