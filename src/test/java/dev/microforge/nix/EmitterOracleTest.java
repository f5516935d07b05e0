package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Emitted modules evaluate under the real Nix evaluator, called with minimal lib/config/pkgs stubs, and the
 * evaluated values equal the spec's, adversarial strings included.
 */
@Tag("oracle")
class EmitterOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Evaluates each emitted file (module and microvm flavor) and returns the JSON values in order. */
    static List<JsonNode> evaluate(Path dir, List<Path> modules) throws Exception {
        Path nix = Tools.require("nix-instantiate");
        Path stubLib = Tools.projectRoot().resolve("tests/nix/stub-nixpkgs/lib.nix");
        StringBuilder expr = new StringBuilder("let lib = import " + stubLib + "; in [\n");
        for (Path m : modules) {
            expr.append("  (import ").append(m).append(" { inherit lib; config = { }; pkgs = { }; })\n");
        }
        expr.append("]\n");
        Path file = dir.resolve("eval-" + System.nanoTime() + ".nix");
        Files.writeString(file, expr.toString());
        Exec.Result r = Exec.run(List.of(nix.toString(), "--eval", "--strict", "--json", file.toString()), dir, null, 120);
        if (r.exitCode() != 0) {
            StringBuilder texts = new StringBuilder();
            for (Path m : modules) {
                texts.append(Files.readString(m)).append('\n');
            }
            throw new AssertionError("nix-instantiate failed:\n" + r.stderr() + "\n" + texts);
        }
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(r.stdout()).forEach(out::add);
        return out;
    }

    /**
     * The initrd modules of the example specs, stated by hand from each spec: the virtio transport (pci; mmio on
     * firecracker), virtio_blk for any disk, the store disk's file system, overlay for a writable store, 9p +
     * 9pnet_virtio / virtiofs per share protocol, virtio_net for interfaces, the vsock transport, the balloon.
     */
    static final Map<String, List<String>> EXAMPLE_MODULES = Map.of(
            "full", List.of("virtio_pci", "virtio_blk", "erofs", "overlay", "9p", "9pnet_virtio", "virtiofs", "virtio_net",
                    "vmw_vsock_virtio_transport", "virtio_balloon"),
            "squashfs", List.of("virtio_pci", "virtio_blk", "squashfs", "virtio_net"),
            "hoststore", List.of("virtio_pci", "overlay", "virtiofs"));

    /** The same rules applied to a {@link #randomSpec} (always a store disk; no vsock, balloon or hvc console). */
    static Set<String> expectedModules(JsonNode spec) {
        Set<String> m = new HashSet<>();
        m.add(spec.path("hypervisor").asText().equals("firecracker") ? "virtio_mmio" : "virtio_pci");
        m.add("virtio_blk");
        m.add(spec.path("storeDisk").path("type").asText());
        if (spec.has("writableStoreOverlay")) {
            m.add("overlay");
        }
        for (JsonNode sh : spec.path("shares")) {
            m.addAll(sh.path("proto").asText().equals("9p") ? List.of("9p", "9pnet_virtio") : List.of("virtiofs"));
        }
        if (spec.path("interfaces").size() > 0) {
            m.add("virtio_net");
        }
        return m;
    }

    static List<String> modulesOf(JsonNode m) {
        List<String> l = new ArrayList<>();
        m.path("boot").path("initrd").path("availableKernelModules").forEach(n -> l.add(n.asText()));
        return l;
    }

    static void checkModule(VmSpec spec, JsonNode m) {
        String ctx = "spec " + spec.name();
        JsonNode fs = m.path("fileSystems");
        assertEquals(JSON.valueToTree(spec.kernelParams()), m.path("boot").path("kernelParams"), ctx);
        // firecracker and kvmtool set no disk serials (the runner's capability matrix): disks in attach order
        boolean serials = !List.of("firecracker", "kvmtool").contains(spec.hypervisor().id());
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            String device = serials ? "/dev/disk/by-id/virtio-" + v.serial()
                    : "/dev/vd" + (char) ('a' + i + (spec.storeDisk() != null ? 1 : 0));
            if (v.mountPoint() == null) {
                fs.forEach(f -> assertFalse(f.path("device").asText().equals(device), ctx + ": raw volume mounted"));
                continue;
            }
            JsonNode f = fs.path(v.mountPoint());
            assertEquals(device, f.path("device").asText(), ctx + " volume " + v.mountPoint());
            assertEquals(v.fsType(), f.path("fsType").asText(), ctx);
            assertEquals(v.readOnly(), f.path("options").toString().contains("\"ro\""), ctx);
        }
        for (Share s : spec.shares()) {
            JsonNode f = fs.path(s.mountPoint());
            assertEquals(s.tag(), f.path("device").asText(), ctx + " share " + s.mountPoint());
            assertEquals(s.proto().id(), f.path("fsType").asText(), ctx);
            if (s.proto() == Share.Proto.NINE_P) {
                assertTrue(f.path("options").toString().contains("trans=virtio"), ctx);
            }
        }
        if (spec.storeDisk() != null) {
            String at = spec.writableStoreOverlay() != null ? "/nix/.ro-store" : "/nix/store";
            JsonNode store = fs.path(at);
            assertEquals(spec.storeDisk().type().id(), store.path("fsType").asText(), ctx);
            assertTrue(store.path("neededForBoot").asBoolean(), ctx);
        }
        if (spec.writableStoreOverlay() != null) {
            JsonNode ov = fs.path("/nix/store");
            assertEquals("overlay", ov.path("fsType").asText(), ctx);
            assertTrue(ov.path("options").toString().contains(JSON.valueToTree("upperdir=" + spec.writableStoreOverlay() + "/store").toString()), ctx);
        }
        Set<String> macs = new HashSet<>();
        m.path("systemd").path("network").path("networks").forEach(n -> macs.add(n.path("matchConfig").path("MACAddress").asText()));
        Set<String> expected = new HashSet<>();
        spec.interfaces().forEach(n -> expected.add(n.mac()));
        assertEquals(expected, macs, ctx);
        if (fs.has("/")) {
            assertEquals("override", fs.path("/").path("_type").asText(), ctx + ": root tmpfs is a mkDefault");
            assertEquals("tmpfs", fs.path("/").path("content").path("fsType").asText(), ctx);
        }
    }

    static void checkMicrovm(VmSpec spec, JsonNode root) {
        String ctx = "spec " + spec.name();
        JsonNode m = root.path("microvm");
        assertEquals(spec.hypervisor().id(), m.path("hypervisor").asText(), ctx);
        assertEquals(spec.vcpu(), m.path("vcpu").asInt(), ctx);
        assertEquals(spec.mem(), m.path("mem").asInt(), ctx);
        assertEquals(JSON.valueToTree(spec.kernelParams()), m.path("kernelParams"), ctx);
        assertEquals(spec.volumes().size(), m.path("volumes").size(), ctx);
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            JsonNode j = m.path("volumes").get(i);
            assertEquals(v.image(), j.path("image").asText(), ctx);
            assertEquals(v.serial(), j.path("serial").asText(), ctx);
            assertEquals(v.mountPoint(), j.path("mountPoint").isNull() ? null : j.path("mountPoint").asText(), ctx);
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            JsonNode j = m.path("shares").get(i);
            assertEquals(s.source(), j.path("source").asText(), ctx);
            assertEquals(s.mountPoint(), j.path("mountPoint").asText(), ctx);
            assertEquals(s.tag(), j.path("tag").asText(), ctx);
        }
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            assertEquals(n.mac(), m.path("interfaces").get(i).path("mac").asText(), ctx);
            assertEquals(n.id(), m.path("interfaces").get(i).path("id").asText(), ctx);
        }
        String overlay = m.path("writableStoreOverlay").isNull() ? null : m.path("writableStoreOverlay").asText();
        assertEquals(spec.writableStoreOverlay(), overlay, ctx);
    }

    @Test
    void exampleSpecsEvaluateToTheirValues(@TempDir Path dir) throws Exception {
        List<VmSpec> specs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (String name : List.of("full", "squashfs", "hoststore")) {
            VmSpec spec = VmSpec.read(EmitterTest.resource(name + ".json"));
            specs.add(spec);
            for (Emitter.Flavor f : Emitter.Flavor.values()) {
                Path p = dir.resolve(name + "." + f.id() + ".nix");
                Files.writeString(p, Emitter.emit(spec, f, name + ".json"), StandardCharsets.UTF_8);
                files.add(p);
            }
        }
        List<JsonNode> values = evaluate(dir, files);
        List<String> names = List.of("full", "squashfs", "hoststore");
        for (int i = 0; i < specs.size(); i++) {
            checkModule(specs.get(i), values.get(2 * i));
            assertEquals(EXAMPLE_MODULES.get(names.get(i)), modulesOf(values.get(2 * i)), names.get(i));
            checkMicrovm(specs.get(i), values.get(2 * i + 1));
        }
    }

    private static final String[] PIECES = {"${", "$${", "$", "\\", "\"", "''", "'", " ", "\t", "#", "{", "}", "ü", "🦀", "a", "-", "."};

    static String nasty(Random r, boolean newlines) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(6);
        for (int i = 0; i < n; i++) {
            sb.append(PIECES[r.nextInt(PIECES.length)]);
            if (newlines && r.nextInt(6) == 0) {
                sb.append(r.nextBoolean() ? "\n" : "\r");
            }
        }
        return sb.toString();
    }

    static ObjectNode randomSpec(Random r, int k) {
        ObjectNode s = JSON.createObjectNode();
        s.put("name", "vm" + k);
        String hv = List.of("qemu", "cloud-hypervisor", "crosvm", "firecracker").get(r.nextInt(4));
        s.put("hypervisor", hv);
        s.put("vcpu", 1 + r.nextInt(8));
        s.put("mem", 64 + r.nextInt(4096));
        s.put("kernel", "/k" + nasty(r, true));
        ArrayNode params = s.putArray("kernelParams");
        for (int i = r.nextInt(4); i > 0; i--) {
            params.add(nasty(r, false));
        }
        boolean overlay = r.nextBoolean();
        ObjectNode disk = s.putObject("storeDisk");
        disk.put("image", "/store" + nasty(r, true));
        disk.put("type", r.nextBoolean() ? "erofs" : "squashfs");
        if (overlay) {
            s.put("writableStoreOverlay", "/ov" + nasty(r, false).replace(",", ""));
        }
        ArrayNode vols = s.putArray("volumes");
        for (int i = r.nextInt(4); i > 0; i--) {
            ObjectNode v = vols.addObject();
            if (hv.equals("firecracker")) {
                // no serials there: the derived ones (from the file name) must differ
                v.put("image", "/img/v" + i + "-" + nasty(r, true));
            } else {
                v.put("image", "/img" + i + "/" + nasty(r, true));
                v.put("serial", "v" + i);
            }
            v.put("autoCreate", false);
            v.put("readOnly", r.nextBoolean());
            if (r.nextInt(3) == 0) {
                v.putNull("mountPoint");
            } else {
                v.put("mountPoint", "/m" + i + "/" + nasty(r, false));
            }
        }
        ArrayNode shares = s.putArray("shares");
        for (int i = hv.equals("firecracker") ? 0 : r.nextInt(3); i > 0; i--) {
            ObjectNode sh = shares.addObject();
            // what the runner's capability matrix allows: no shares on firecracker, virtiofs only on cloud-hypervisor
            sh.put("proto", hv.equals("cloud-hypervisor") || r.nextBoolean() ? "virtiofs" : "9p");
            sh.put("tag", "t" + i);
            sh.put("source", "/src" + nasty(r, true));
            sh.put("mountPoint", "/s" + i + "/" + nasty(r, false));
            sh.put("readOnly", r.nextBoolean());
        }
        ArrayNode ifs = s.putArray("interfaces");
        for (int i = r.nextInt(3); i > 0; i--) {
            ObjectNode n = ifs.addObject();
            n.put("type", "tap");
            n.put("id", "tap" + k + "x" + i);
        }
        return s;
    }

    @Test
    void adversarialSpecsSurviveTheRoundTrip(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("microforge.seed", System.nanoTime());
        Random r = new Random(seed);
        long deadline = System.nanoTime() + 8_000_000_000L;
        int round = 0;
        while (round < 3 || (System.nanoTime() < deadline && round < 30)) {
            List<VmSpec> specs = new ArrayList<>();
            List<ObjectNode> jsons = new ArrayList<>();
            List<Path> files = new ArrayList<>();
            for (int k = 0; k < 8; k++) {
                Path json = dir.resolve("r" + round + "-" + k + ".json");
                ObjectNode raw = randomSpec(r, k);
                jsons.add(raw);
                Files.writeString(json, JSON.writeValueAsString(raw), StandardCharsets.UTF_8);
                VmSpec spec = VmSpec.read(json);
                specs.add(spec);
                for (Emitter.Flavor f : Emitter.Flavor.values()) {
                    Path p = dir.resolve("r" + round + "-" + k + "." + f.id() + ".nix");
                    Files.writeString(p, Emitter.emit(spec, f, json.getFileName().toString()), StandardCharsets.UTF_8);
                    files.add(p);
                }
            }
            List<JsonNode> values;
            try {
                values = evaluate(dir, files);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < specs.size(); i++) {
                try {
                    checkModule(specs.get(i), values.get(2 * i));
                    List<String> modules = modulesOf(values.get(2 * i));
                    assertEquals(expectedModules(jsons.get(i)), new HashSet<>(modules), "spec " + specs.get(i).name());
                    assertEquals(modules.size(), new HashSet<>(modules).size(), "no module twice: " + modules);
                    checkMicrovm(specs.get(i), values.get(2 * i + 1));
                } catch (AssertionError e) {
                    throw new AssertionError("seed " + seed + ", round " + round + ": " + e.getMessage(), e);
                }
            }
            round++;
        }
    }
}
