package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClosureReaderTest {
    static final String A = "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a";
    static final String B = "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-b";
    static final String H = "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";

    @TempDir
    Path tmp;

    Path file(String name, String content) throws Exception {
        return Files.writeString(tmp.resolve(name), content, StandardCharsets.US_ASCII);
    }

    @Test
    void exportReferencesGraph() throws Exception {
        Path f = file("graph", A + "\n\n2\n" + A + "\n" + B + "\n" + B + "\n\n0\n");
        ClosureGraph g = ClosureReader.read(f);
        assertEquals(2, g.size());
        assertEquals(List.of(StorePath.parse("/nix/store", A), StorePath.parse("/nix/store", B)), g.at(0).references());
        assertEquals(List.of(StorePath.parse("/nix/store", A)), g.roots());
        assertEquals(ClosureFormat.EXPORT_REFERENCES_GRAPH, ClosureReader.detect("x", Files.readAllBytes(f)));
    }

    @Test
    void registrationRoundTrips() throws Exception {
        Path f = file("reg", A + "\n" + H + "\n120\n\n1\n" + B + "\n" + B + "\n" + H + "\n8\n\n0\n");
        ClosureGraph g = ClosureReader.read(f);
        assertEquals(Hash.parse(H, null), g.at(0).narHash());
        assertEquals(120, g.at(0).narSize());
        assertEquals(Files.readString(f), new String(Registration.write(g), StandardCharsets.US_ASCII));
    }

    @Test
    void notClosedNamesTheMissingPathAndWhoRefersToIt() throws Exception {
        Path f = file("graph", A + "\n\n1\n" + B + "\n");
        UserError e = assertThrows(UserError.class, () -> ClosureReader.read(f));
        assertEquals(f + ":4: the closure is not closed: " + B + " is referenced by " + A + " but is not in the closure", e.getMessage());
    }

    @Test
    void pathInfoShapesGiveTheSameGraph() throws Exception {
        String sri = Hash.parse(H, null).toSri();
        Path list = file("list.json", "[{\"path\":\"" + A + "\",\"narHash\":\"" + sri + "\",\"narSize\":120,\"references\":[\"" + B + "\"]},"
                + "{\"path\":\"" + B + "\",\"narHash\":\"" + H + "\",\"narSize\":8,\"references\":[]}]");
        Path keyed = file("keyed.json", "{\"" + A + "\":{\"narHash\":\"" + sri + "\",\"narSize\":120,\"references\":[\"" + B + "\"]},"
                + "\"" + B + "\":{\"narHash\":\"" + sri + "\",\"narSize\":8,\"references\":[]}}");
        ClosureGraph g1 = ClosureReader.read(list);
        ClosureGraph g2 = ClosureReader.read(keyed);
        assertEquals(g1.paths(), g2.paths());
    }
}
