package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.store.Nar;
import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The shipped example (tests/example) is what Nix 2.8 builds from example.nix: same paths, NAR bytes, references. */
@Tag("oracle")
class ExampleOracleTest {
    @Test
    void shippedCopyEqualsWhatNixBuilds() throws Exception {
        Path example = Tools.projectRoot().resolve("tests/example");
        Path app = NixFixtures.build(example.resolve("example.nix"), "");
        List<String> members = NixFixtures.requisites(app);
        JsonNode nix = new ObjectMapper().readTree(NixFixtures.pathInfoJson(true, List.of(app.toString())));

        List<String> shipped = new ArrayList<>();
        try (var s = Files.list(example.resolve("store"))) {
            s.forEach(p -> shipped.add("/nix/store/" + p.getFileName()));
        }
        assertEquals(new TreeSet<>(members), new TreeSet<>(shipped));

        ClosureGraph g = ClosureReader.read(example.resolve("closure.json"));
        assertEquals(members.size(), g.size());
        for (JsonNode n : nix) {
            String p = n.get("path").asText();
            Path copy = example.resolve("store").resolve(Path.of(p).getFileName());
            ByteArrayOutputStream ours = new ByteArrayOutputStream();
            Nar.dump(copy, ours);
            assertTrue(java.util.Arrays.equals(NixFixtures.dump(p), ours.toByteArray()), "NAR of the shipped " + p);
            Nar.Info info = Nar.hash(copy);
            assertEquals(n.get("narHash").asText(), info.narHash().toSri(), p);
            assertEquals(n.get("narSize").asLong(), info.narSize(), p);
            PathInfo declared = g.get(dev.microforge.store.StorePath.parse("/nix/store", p)).orElseThrow();
            assertEquals(n.get("narHash").asText(), declared.narHash().toSri());
            assertEquals(new TreeSet<>(NixFixtures.references(p)),
                    new TreeSet<>(declared.references().stream().map(Object::toString).toList()));
        }
    }
}
