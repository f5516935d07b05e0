package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Golden files for every hypervisor's runner directory (regenerate with -Dmicroforge.updateGolden=true and review the
 * diff), the generated command lines checked against each project's documented CLI (src/test/resources/runner/cli),
 * and firecracker's config checked against its published API schema.
 */
class RunnerGoldenTest {
    static final Path RES = Tools.projectRoot().resolve("src/test/resources/runner");

    static VmSpec spec(Hypervisor h) throws IOException {
        byte[] b = Files.readAllBytes(RES.resolve("golden/" + h.id() + ".json"));
        return VmSpecReader.parse(b, h.id() + ".json", Events.NONE);
    }

    static Accel accel(Hypervisor h) {
        return h == Hypervisor.QEMU ? Accel.AUTO : Accel.KVM;
    }

    @ParameterizedTest
    @EnumSource(Hypervisor.class)
    void runnerDirectoryMatchesGoldenFiles(Hypervisor h) throws IOException {
        byte[] specBytes = Files.readAllBytes(RES.resolve("golden/" + h.id() + ".json"));
        VmSpec spec = VmSpecReader.parse(specBytes, h.id() + ".json", Events.NONE);
        Map<String, byte[]> files = Runner.generate(spec, specBytes, new Runner.Options(accel(h), List.of("microforge")), Events.NONE);
        Path dir = RES.resolve("golden/" + h.id());
        if (Boolean.getBoolean("microforge.updateGolden")) {
            Runner.deleteTree(dir);
            for (var e : files.entrySet()) {
                Path p = dir.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, e.getValue());
            }
        }
        TreeSet<String> golden = new TreeSet<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).forEach(p -> golden.add(dir.relativize(p).toString()));
        }
        assertEquals(golden, new TreeSet<>(files.keySet()), "the set of files in the runner directory");
        for (var e : files.entrySet()) {
            assertEquals(Files.readString(dir.resolve(e.getKey())), new String(e.getValue(), StandardCharsets.UTF_8),
                    h + ": " + e.getKey() + " differs from the golden file (regenerate with -Dmicroforge.updateGolden=true if intended)");
        }
        assertEquals(h != Hypervisor.KVMTOOL, files.containsKey("bin/microvm-shutdown"), "microvm-shutdown only where the hypervisor can shut down cleanly");
        // deterministic: same spec, same bytes
        Map<String, byte[]> again = Runner.generate(spec, specBytes, new Runner.Options(accel(h), List.of("microforge")), Events.NONE);
        for (var e : files.entrySet()) {
            assertTrue(Arrays.equals(e.getValue(), again.get(e.getKey())), e.getKey());
        }
    }

    @ParameterizedTest
    @EnumSource(Hypervisor.class)
    void commandLineFollowsTheDocumentedCli(Hypervisor h) throws IOException {
        if (h == Hypervisor.QEMU) {
            return; // qemu's syntax is checked by the real qemu in QemuBootTest
        }
        Plan plan = Generator.of(h).plan(spec(h), accel(h));
        List<String> argv = plan.command().stream().map(Shell.Word::display).toList();
        checkCli(h, argv);
    }

    /** A small interpreter of the cli/*.txt descriptions. */
    static void checkCli(Hypervisor h, List<String> argv) throws IOException {
        List<String> command = null;
        Map<String, String[]> options = new HashMap<>();
        boolean positionalKernel = false;
        for (String line : Files.readAllLines(RES.resolve("cli/" + h.id() + ".txt"))) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split(" ");
            switch (f[0]) {
                case "command" -> command = List.of(f).subList(1, f.length);
                case "option" -> options.put(f[1], Arrays.copyOfRange(f, 2, f.length));
                case "positional" -> positionalKernel = true;
                default -> fail("bad cli description line: " + line);
            }
        }
        assertNotNull(command);
        assertEquals(command, argv.subList(0, command.size()), h + ": command");
        int end = argv.size() - (positionalKernel ? 1 : 0);
        if (positionalKernel) {
            assertFalse(argv.get(end).startsWith("-"), "the kernel comes last");
        }
        for (int i = command.size(); i < end; i++) {
            String opt = argv.get(i);
            String[] kind = options.get(opt);
            assertNotNull(kind, h + ": option " + opt + " is not in " + h.id() + "'s documented CLI (argv " + argv + ")");
            switch (kind[0]) {
                case "flag" -> { }
                case "value" -> {
                    i++;
                    assertTrue(i < end, opt + " needs a value");
                }
                case "keys" -> checkKeys(h, opt, argv.get(++i), kind[1]);
                case "multi" -> {
                    int n = 0;
                    while (i + 1 < end && !argv.get(i + 1).startsWith("--")) {
                        checkKeys(h, opt, argv.get(++i), kind[1]);
                        n++;
                    }
                    assertTrue(n > 0, opt + " needs at least one value");
                }
                case "colon" -> {
                    String[] parts = argv.get(++i).split(":");
                    assertTrue(parts.length >= 2, opt + " takes PATH:TAG[:key=value...]");
                    for (int k = 2; k < parts.length; k++) {
                        assertTrue(List.of(kind[1].split(",")).contains(parts[k].split("=")[0]), opt + ": unknown key in " + parts[k]);
                    }
                }
                case "diskflags" -> {
                    String[] parts = argv.get(++i).split(",");
                    for (int k = 1; k < parts.length; k++) {
                        assertTrue(List.of(kind[1].split(",")).contains(parts[k]), opt + ": unknown disk flag " + parts[k]);
                    }
                }
                case "pair" -> assertEquals(2, argv.get(++i).split(",").length, opt + " takes DIR,TAG");
                default -> fail("bad kind " + kind[0]);
            }
        }
    }

    static void checkKeys(Hypervisor h, String opt, String value, String keys) {
        List<String> allowed = List.of(keys.split(","));
        for (String kv : splitTopLevel(value)) {
            String key = kv.contains("=") ? kv.substring(0, kv.indexOf('=')) : kv;
            assertTrue(allowed.contains(key), h + ": " + opt + " " + value + ": key '" + key + "' is not documented (documented: " + keys + ")");
        }
    }

    /** Splits at commas outside [...] (cloud-hypervisor's and crosvm's list syntax). */
    static List<String> splitTopLevel(String s) {
        List<String> l = new ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            }
            if (c == ',' && depth == 0) {
                l.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        l.add(cur.toString());
        return l;
    }

    @org.junit.jupiter.api.Test
    void firecrackerConfigConformsToThePublishedApiSchema() throws IOException {
        Map<String, byte[]> files = Runner.generate(spec(Hypervisor.FIRECRACKER), new byte[0],
                new Runner.Options(Accel.KVM, List.of()), Events.NONE);
        JsonNode config = new ObjectMapper().readTree(files.get("share/microvm/firecracker.json"));
        JsonNode defs = new ObjectMapper(new YAMLFactory()).readTree(RES.resolve("firecracker-swagger.yaml").toFile()).get("definitions");
        List<String> errors = new ArrayList<>();
        validate(config, defs.get("FullVmConfiguration"), defs, "", errors);
        assertEquals(List.of(), errors);
        for (String key : List.of("boot-source", "machine-config", "drives", "network-interfaces", "vsock", "balloon")) {
            assertTrue(config.has(key), key);
        }
        // the validator itself rejects what firecracker rejects
        List<String> bad = new ArrayList<>();
        JsonNode broken = new ObjectMapper().readTree("{\"machine-config\":{\"vcpu_count\":\"2\",\"mem_size_mib\":512,\"bogus\":1},"
                + "\"drives\":[{\"drive_id\":\"x\"}],\"vsock\":{\"guest_cid\":2,\"uds_path\":\"v\"}}");
        validate(broken, defs.get("FullVmConfiguration"), defs, "", bad);
        assertEquals(List.of("/drives[0]: missing required is_root_device", "/machine-config: unknown field bogus",
                "/machine-config/vcpu_count: expected integer", "/vsock/guest_cid: below minimum 3").stream().sorted().toList(),
                bad.stream().sorted().toList());
    }

    /** Swagger 2 subset: $ref, type, required, properties (no others allowed), items, enum, minimum, maximum. */
    static void validate(JsonNode v, JsonNode schema, JsonNode defs, String path, List<String> errors) {
        if (schema.has("$ref")) {
            String ref = schema.get("$ref").asText().replace("#/definitions/", "");
            JsonNode d = defs.get(ref);
            if (d == null) {
                errors.add(path + ": schema excerpt lacks " + ref);
                return;
            }
            validate(v, d, defs, path, errors);
            return;
        }
        String type = schema.path("type").asText("object");
        switch (type) {
            case "object" -> {
                if (!v.isObject()) {
                    errors.add(path + ": expected object");
                    return;
                }
                JsonNode props = schema.path("properties");
                for (JsonNode r : schema.path("required")) {
                    if (!v.has(r.asText())) {
                        errors.add(path + ": missing required " + r.asText());
                    }
                }
                for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!props.has(k)) {
                        errors.add(path + ": unknown field " + k);
                    } else {
                        validate(v.get(k), props.get(k), defs, path + "/" + k, errors);
                    }
                }
            }
            case "array" -> {
                if (!v.isArray()) {
                    errors.add(path + ": expected array");
                    return;
                }
                for (int i = 0; i < v.size(); i++) {
                    validate(v.get(i), schema.get("items"), defs, path + "[" + i + "]", errors);
                }
            }
            case "string" -> {
                if (!v.isTextual()) {
                    errors.add(path + ": expected string");
                } else if (schema.has("enum")) {
                    boolean ok = false;
                    for (JsonNode e : schema.get("enum")) {
                        ok |= e.asText().equals(v.asText());
                    }
                    if (!ok) {
                        errors.add(path + ": " + v.asText() + " not in " + schema.get("enum"));
                    }
                }
            }
            case "integer" -> {
                if (!v.isIntegralNumber()) {
                    errors.add(path + ": expected integer");
                } else {
                    if (schema.has("minimum") && v.asLong() < schema.get("minimum").asLong()) {
                        errors.add(path + ": below minimum " + schema.get("minimum").asLong());
                    }
                    if (schema.has("maximum") && v.asLong() > schema.get("maximum").asLong()) {
                        errors.add(path + ": above maximum " + schema.get("maximum").asLong());
                    }
                }
            }
            case "boolean" -> {
                if (!v.isBoolean()) {
                    errors.add(path + ": expected boolean");
                }
            }
            default -> errors.add(path + ": unsupported schema type " + type);
        }
    }

    @org.junit.jupiter.api.Test
    void kvmtoolHasNoShutdown() throws IOException {
        assertNull(Generator.of(Hypervisor.KVMTOOL).plan(spec(Hypervisor.KVMTOOL), Accel.KVM).shutdownScript());
    }
}
