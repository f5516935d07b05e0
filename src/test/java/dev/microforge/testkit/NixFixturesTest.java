package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The fixture builder other areas use: scripts with awkward characters survive the Nix quoting; references are real. */
@Tag("oracle")
class NixFixturesTest {
    @Test
    void derivationBuildsTheScriptVerbatimAndRecordsReferences() throws Exception {
        Path leaf = NixFixtures.storeModel("leaf");
        String script = "mkdir -p $out\nprintf '%s\\n' \"quote\\\" dollar-brace ${MICROFORGE_UNSET:-none} back\\\\slash\" > $out/text\n"
                + "ln -s " + leaf + "/bin/leaf $out/leaf\n";
        Path p = NixFixtures.derivation("fixture-test", script);
        assertTrue(p.getFileName().toString().endsWith("-fixture-test"), p.toString());
        assertEquals("quote\" dollar-brace none back\\slash\n", Files.readString(p.resolve("text")));
        assertEquals(List.of(leaf.toString()), NixFixtures.references(p.toString()));
    }

    @Test
    void nixStringEscapesInterpolation() {
        assertEquals("\"a\\${b} $c \\\"d\\\" \\\\ \\n\"", NixFixtures.nixString("a${b} $c \"d\" \\ \n"));
    }
}
