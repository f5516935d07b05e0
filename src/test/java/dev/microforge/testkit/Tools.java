package dev.microforge.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External tools for oracle tests, and the one switch for what a missing prerequisite (tool, kernel, root, ...)
 * does: in strict mode it FAILS the test, elsewhere it skips the test with the reason. Strict mode is on when
 * {@code MICROFORGE_TESTS_STRICT} is set (to anything but empty, 0 or false; tests/run-all.sh sets it) or
 * {@code CI} is (to anything but empty or false). Every skip-or-fail decision of the tests goes through
 * {@link #unavailable}.
 */
public final class Tools {
    private Tools() {}

    /** Whether a missing prerequisite fails the test instead of skipping it. */
    public static boolean strict() {
        return strict(System.getenv("MICROFORGE_TESTS_STRICT"), System.getenv("CI"));
    }

    /** The same switch as {@link #strict()}. */
    public static boolean inCi() {
        return strict();
    }

    static boolean strict(String strictVar, String ciVar) {
        if (strictVar != null && !strictVar.isEmpty() && !strictVar.equals("0") && !strictVar.equalsIgnoreCase("false")) {
            return true;
        }
        return ciVar != null && !ciVar.isEmpty() && !ciVar.equalsIgnoreCase("false");
    }

    /**
     * A prerequisite of the running test is missing: in strict mode returns the AssertionError to throw, elsewhere
     * aborts the test (skipped, with {@code why} as the reason). Use as {@code throw Tools.unavailable(why);}.
     */
    public static AssertionError unavailable(String why) {
        return unavailable(why, strict());
    }

    static AssertionError unavailable(String why, boolean strict) {
        if (strict) {
            return new AssertionError(why + " [strict mode: MICROFORGE_TESTS_STRICT or CI is set, so this fails instead of skipping]");
        }
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }

    /** Requires root (mounts, loop devices, network namespaces, file modes that root ignores); see {@link #unavailable}. */
    public static void requireRoot(String why) {
        if (!isRoot()) {
            throw unavailable("needs root: " + why);
        }
    }

    /** Whether the test JVM runs as uid 0. */
    public static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (Exception e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** The absolute path of an executable found on PATH or at an absolute path; see {@link #unavailable}. */
    public static Path require(String name) {
        Path p = find(name);
        if (p == null) {
            throw unavailable("required tool '" + name + "' not found (install with tests/install-deps.sh)");
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

    /** The project root: {@code microforge.root} (set by surefire), else the working directory; it must hold pom.xml. */
    public static Path projectRoot() {
        String r = System.getProperty("microforge.root");
        Path root = Path.of(r != null ? r : ".").toAbsolutePath().normalize();
        if (!Files.isRegularFile(root.resolve("pom.xml"))) {
            throw new IllegalStateException("not the microforge project root (no pom.xml): " + root
                    + " (run the tests with Maven, or set -Dmicroforge.root)");
        }
        return root;
    }
}
