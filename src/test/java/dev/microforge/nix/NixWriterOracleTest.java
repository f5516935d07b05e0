package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Property test against the real evaluator: whatever we write, Nix reads back exactly. */
@Tag("oracle")
class NixWriterOracleTest {
    private static final String[] PIECES = {
        "${", "$${", "$", "${x}", "\\", "\\\\", "\"", "''", "'''", "''${", "''\\", "\n", "\r", "\t", "\r\n", " ",
        "{", "}", "#", "/*", "*/", "a", "Z", "0", "-", ".", "=", ";", "ü", "✓", "🦀", "\u0001", "\u007f", "\u2028",
        "or", "if", "let", "in", "/nix/store", "$(rm -rf /)", "`id`", "\\${", "\\n", "~", "<nixpkgs>",
    };
    private static final ObjectMapper JSON = new ObjectMapper();

    static String adversarial(Random r) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(8);
        for (int i = 0; i < n; i++) {
            if (r.nextInt(5) == 0) {
                int cp;
                do {
                    cp = 1 + r.nextInt(r.nextBoolean() ? 0x80 : 0x2ffff);
                } while (cp >= 0xd800 && cp <= 0xdfff);
                sb.appendCodePoint(cp);
            } else {
                sb.append(PIECES[r.nextInt(PIECES.length)]);
            }
        }
        return sb.toString();
    }

    /** A random value plus the JSON Nix should print for it. */
    record Case(Nix value, JsonNode json) {}

    static Case value(Random r, int depth) {
        int kind = depth > 2 ? r.nextInt(4) : r.nextInt(6);
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (kind) {
            case 0: {
                String s = adversarial(r);
                return new Case(Nix.str(s), f.textNode(s));
            }
            case 1: {
                long v = switch (r.nextInt(4)) {
                    case 0 -> Long.MIN_VALUE;
                    case 1 -> Long.MAX_VALUE;
                    default -> r.nextLong() >> r.nextInt(64);
                };
                return new Case(Nix.num(v), f.numberNode(v));
            }
            case 2: {
                boolean b = r.nextBoolean();
                return new Case(Nix.bool(b), f.booleanNode(b));
            }
            case 3:
                return new Case(Nix.nul(), f.nullNode());
            case 4: {
                List<Nix> items = new ArrayList<>();
                ArrayNode arr = f.arrayNode();
                int n = r.nextInt(7);
                for (int i = 0; i < n; i++) {
                    Case c = value(r, depth + 1);
                    items.add(c.value());
                    arr.add(c.json());
                }
                return new Case(Nix.list(items), arr);
            }
            default: {
                Nix.AttrsBuilder b = Nix.attrs();
                ObjectNode obj = f.objectNode();
                Set<String> names = new LinkedHashSet<>();
                int n = r.nextInt(6);
                for (int i = 0; i < n; i++) {
                    names.add(r.nextBoolean() ? adversarial(r) : "n" + i);
                }
                for (String name : names) {
                    if (r.nextInt(4) == 0) {
                        // a two-element path: name.inner = v
                        Case c = value(r, depth + 2);
                        String inner = adversarial(r);
                        b.put(List.of(name, inner), c.value());
                        obj.putObject(name).set(inner, c.json());
                    } else {
                        Case c = value(r, depth + 1);
                        b.put(name, c.value());
                        obj.set(name, c.json());
                    }
                }
                return new Case(b.build(), obj);
            }
        }
    }

    @Test
    void randomAdversarialValuesSurviveNixEvaluation(@TempDir Path dir) throws Exception {
        Path nix = Tools.require("nix-instantiate");
        long seed = Long.getLong("microforge.seed", System.nanoTime());
        Random r = new Random(seed);
        long deadline = System.nanoTime() + 10_000_000_000L;
        int rounds = 0;
        while (rounds < 10 || (System.nanoTime() < deadline && rounds < 120)) {
            Nix.AttrsBuilder top = Nix.attrs();
            ObjectNode expected = JsonNodeFactory.instance.objectNode();
            for (int i = 0; i < 30; i++) {
                Case c = value(r, 0);
                top.put("v" + i, c.value());
                expected.set("v" + i, c.json());
            }
            String text = NixWriter.render(List.of("round " + rounds), top.build());
            Path file = dir.resolve("r" + rounds + ".nix");
            Files.writeString(file, text, StandardCharsets.UTF_8);
            Exec.Result res = Exec.run(List.of(nix.toString(), "--eval", "--strict", "--json", file.toString()),
                    dir, null, 60);
            if (res.exitCode() != 0) {
                throw new AssertionError("seed " + seed + ": nix rejected our text:\n" + res.stderr() + "\n" + text);
            }
            JsonNode actual = JSON.readTree(res.stdout());
            assertEquals(JSON.readTree(JSON.writeValueAsString(expected)), actual, "seed " + seed + ", file:\n" + text);
            // formatting is stable: no trailing whitespace, final newline, 2-space indentation
            for (String line : text.split("\n")) {
                assertEquals(line.stripTrailing(), line, "trailing whitespace, seed " + seed);
                int ind = line.length() - line.stripLeading().length();
                assertEquals(0, ind % 2, "odd indentation, seed " + seed + ": " + line);
            }
            rounds++;
        }
    }
}
