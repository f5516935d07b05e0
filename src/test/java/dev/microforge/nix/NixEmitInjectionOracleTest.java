package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.microforge.testkit.Cli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile spec file name or spec value cannot inject Nix code through {@code nix emit}: the real evaluator
 * (nix-instantiate) gives the same value as for a plain file name, and the hostile strings come back exactly.
 */
@Tag("oracle")
class NixEmitInjectionOracleTest {
    /** Nix ends a '#' comment at CR: before the fix the text after it was code, and this assert failed evaluation. */
    static final String CR_NAME = "vm\rassert builtins.trace \"INJECTED\" false; #.json";
    static final String HOSTILE_PARAM = "a${builtins.throw \"x\"}#\"'' \\ $${y} \t\u001b[31m */ /*";

    @Test
    void hostileSpecFileNamesAndValuesEvaluateToTheExpectedModule(@TempDir Path dir) throws Exception {
        String spec = "{\"name\": \"vm\", \"kernel\": \"/k\", \"storeOnDisk\": false, \"kernelParams\": ["
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(HOSTILE_PARAM) + "]}";
        List<String> names = List.of("plain.json", CR_NAME, "vm\ninjected = 1; #.json", "vm\u001b]0;t\u0007\u0085\u2028 #.json");
        for (String flavor : List.of("module", "microvm")) {
            List<Path> outs = new java.util.ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                Path specFile = dir.resolve(names.get(i));
                Files.writeString(specFile, spec);
                Path out = dir.resolve(flavor + i + ".nix");
                Cli.Result r = Cli.run("nix", "emit", "--flavor", flavor, "--spec", specFile.toString(), "-o", out.toString());
                assertEquals(0, r.exitCode(), r.err());
                String text = Files.readString(out, StandardCharsets.UTF_8);
                // comments: no control character at all; strings: CR and LF only as escapes (other control
                // characters stay raw inside a string literal: Nix has no escape for them, and they cannot end it)
                assertFalse(text.contains("\r"), text);
                for (String line : text.split("\n")) {
                    if (line.startsWith("#")) {
                        assertTrue(line.chars().allMatch(c -> c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f)),
                                "control character in the comment " + line);
                    }
                }
                assertEquals(2, text.lines().filter(l -> l.startsWith("#")).count(), text);
                assertTrue(text.startsWith("# "), text);
                outs.add(out);
                Cli.Result check = Cli.run("nix", "emit", "--flavor", flavor, "--spec", specFile.toString(), "-o", out.toString(), "--check");
                assertEquals(0, check.exitCode(), check.err() + check.out());
            }
            List<JsonNode> values = EmitterOracleTest.evaluate(dir, outs);
            for (int i = 1; i < values.size(); i++) {
                assertEquals(values.get(0), values.get(i), flavor + ": spec file named " + names.get(i).replace("\r", "\\r"));
            }
            String params = flavor.equals("module") ? values.get(0).path("boot").path("kernelParams").toString()
                    : values.get(0).path("microvm").path("kernelParams").toString();
            assertTrue(params.contains(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(HOSTILE_PARAM)),
                    flavor + ": " + values.get(0));
        }
        assertFalse(Files.readString(dir.resolve("module1.nix")).contains("\r"));
        assertTrue(Files.readString(dir.resolve("module1.nix")).lines().findFirst().orElseThrow()
                .endsWith("from vm\\rassert builtins.trace \"INJECTED\" false; #.json."));
    }
}
