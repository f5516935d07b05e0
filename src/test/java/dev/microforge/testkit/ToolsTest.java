package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** The strict switch (fail, never skip), and that every skip-or-fail decision of the tests goes through it. */
class ToolsTest {
    @Test
    void strictModeFromEitherVariable() {
        assertFalse(Tools.strict(null, null));
        assertFalse(Tools.strict("", ""));
        assertFalse(Tools.strict("0", "false"));
        assertFalse(Tools.strict("false", "FALSE"));
        assertTrue(Tools.strict("1", null));
        assertTrue(Tools.strict("yes", null));
        assertTrue(Tools.strict(null, "true"));
        assertTrue(Tools.strict("0", "1"), "CI=1 turns it on even when MICROFORGE_TESTS_STRICT=0");
    }

    @Test
    void unavailableFailsWhenStrictAndSkipsOtherwise() {
        AssertionError e = Tools.unavailable("no frobnicator", true);
        assertTrue(e.getMessage().startsWith("no frobnicator"), e.getMessage());
        TestAbortedException skip = assertThrows(TestAbortedException.class, () -> Tools.unavailable("no frobnicator", false));
        assertTrue(skip.getMessage().contains("no frobnicator"), skip.getMessage());
    }

    @Test
    void theReadmeTestCommandRunsStrict() throws IOException {
        Path root = Tools.projectRoot();
        List<String> runAll = Files.readAllLines(root.resolve("tests/run-all.sh"));
        int strict = runAll.indexOf("export MICROFORGE_TESTS_STRICT=1");
        int mvn = -1;
        for (int i = 0; i < runAll.size(); i++) {
            if (runAll.get(i).startsWith("mvn ")) {
                mvn = i;
            }
        }
        assertTrue(strict >= 0 && strict < mvn, "tests/run-all.sh exports MICROFORGE_TESTS_STRICT=1 before mvn: " + runAll);
        assertTrue(Files.readString(root.resolve(".ci/run")).contains("bash tests/run-all.sh"), "CI runs the README's command");
    }

    /** No test decides on its own to skip: Assumptions and the CI variable are used only in Tools. */
    @Test
    void everySkipOrFailDecisionGoesThroughTools() throws IOException {
        Pattern own = Pattern.compile("Assumptions|assumeTrue|assumeFalse|assumingThat|getenv\\(\"CI\"\\)|@Disabled|@EnabledIf|@DisabledIf");
        List<String> offenders = new ArrayList<>();
        Path src = Tools.projectRoot().resolve("src/test/java");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                if (f.endsWith("testkit/Tools.java") || f.endsWith("testkit/ToolsTest.java")) {
                    continue;
                }
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (own.matcher(lines.get(i)).find()) {
                        offenders.add(src.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
            }
        }
        assertEquals(List.of(), offenders, "skip or fail through Tools.unavailable / Tools.require / Tools.requireRoot");
    }

    /** Whatever requires root is tagged "root", so that the quick loop (-DexcludedGroups=oracle,root) runs as any user. */
    @Test
    void rootTestsAreTagged() throws IOException {
        List<String> untagged = new ArrayList<>();
        Path src = Tools.projectRoot().resolve("src/test/java");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String text = Files.readString(f);
                if (!f.endsWith("testkit/ToolsTest.java") && text.contains("Tools.requireRoot(") && !text.contains("@Tag(\"root\")")) {
                    untagged.add(src.relativize(f).toString());
                }
            }
        }
        assertEquals(List.of(), untagged);
    }

    @Test
    void projectRootIsThePomDirectory() throws IOException {
        Path root = Tools.projectRoot();
        assertEquals(Path.of(System.getProperty("microforge.root")).toAbsolutePath().normalize(), root, "surefire sets microforge.root");
        assertTrue(Files.readString(root.resolve("pom.xml")).contains("<artifactId>microforge</artifactId>"), root.toString());
        assertTrue(Files.isRegularFile(root.resolve("tests/run-all.sh")), root.toString());
        String saved = System.getProperty("microforge.root");
        try {
            System.setProperty("microforge.root", root.resolve("src").toString());
            IllegalStateException e = assertThrows(IllegalStateException.class, Tools::projectRoot);
            assertTrue(e.getMessage().contains("no pom.xml"), e.getMessage());
        } finally {
            System.setProperty("microforge.root", saved);
        }
    }
}
