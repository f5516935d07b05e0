package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every JSON shape {@code nix path-info --json} has printed, hand-written from Nix's documentation (release
 * notes of 2.19 and 2.33, the store-object-info v1..v3 schemas and their test data) for the example closure:
 * each reads to the same graph, shown identically, and scans clean against the shipped store paths.
 */
class PathInfoGoldenTest {
    static final Path DIR = Tools.projectRoot().resolve("src/test/resources/closure");
    static final Path STORE = Tools.projectRoot().resolve("tests/example/store");

    @ParameterizedTest
    @ValueSource(strings = {"path-info-2.18-list.json", "path-info-2.19-keyed.json", "path-info-2.33-format-1.json",
        "path-info-format-2.json", "path-info-format-3.json", "path-info-format-2-structured-hash.json"})
    void everyShapeReadsToTheSameGraph(String file) throws Exception {
        String input = DIR.resolve(file).toString();
        Cli.Result show = Cli.run("closure", "show", "--format", "json", "--closure", input);
        assertEquals(0, show.exitCode(), show.err());
        assertEquals(Files.readString(DIR.resolve("show-expected.json")), show.out());
        assertEquals(ClosureFormat.PATH_INFO_JSON, ClosureReader.detect(input, Files.readAllBytes(DIR.resolve(file))));
        Cli.Result scan = Cli.run("closure", "scan", "--closure", input, "--real-store", STORE.toString());
        assertEquals(0, scan.exitCode(), scan.out() + scan.err());
    }
}
