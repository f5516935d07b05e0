package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code nix emit --flavor microvm} of the specs made from microvm.nix's own options (src/test/resources/vm/microvm-nix)
 * gives back, evaluated by Nix, the option values microvm.nix evaluated: what microforge reads it writes again.
 */
@Tag("oracle")
class MicrovmFlavorOracleTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** JSON pointers compared between the fixture and the evaluated microvm flavor (default values are left out there). */
    static final List<String> FIELDS = List.of("/hypervisor", "/vcpu", "/mem", "/kernelParams", "/storeOnDisk",
            "/writableStoreOverlay", "/balloon", "/socket", "/user", "/vsock/cid",
            "/qemu/machineOpts", "/qemu/extraArgs", "/cloud-hypervisor/platformOEMStrings", "/cloud-hypervisor/extraArgs",
            "/credentialFiles", "/machineId");

    @ParameterizedTest
    @ValueSource(strings = {"qemu-full", "cloud-hypervisor", "firecracker", "writable-store", "credentials"})
    void microvmFlavorEvaluatesToMicrovmNixsValues(String name) throws Exception {
        Path nix = Tools.require("nix-instantiate");
        Path spec = Tools.projectRoot().resolve("src/test/resources/vm/microvm-nix/" + name + ".json");
        JsonNode want = JSON.readTree(spec.toFile());
        Path out = tmp.resolve(name + ".nix");
        Cli.Result r = Cli.run("nix", "emit", "--flavor", "microvm", "--spec", spec.toString(), "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        Exec.Result e = Exec.run(List.of(nix.toString(), "--eval", "--strict", "--json", "-E", "(import " + out + " { }).microvm"), tmp, null, 120);
        assertEquals(0, e.exitCode(), e.stderr());
        JsonNode got = JSON.readTree(e.stdout());
        for (String f : FIELDS) {
            JsonNode w = want.at(f);
            JsonNode g = got.at(f);
            boolean defaulted = g.isMissingNode() && (w.isNull() || w.isEmpty() && (w.isArray() || w.isObject()));
            if (!defaulted) {
                assertEquals(w, g, name + ": " + f);
            }
        }
        for (int i = 0; i < want.get("shares").size(); i++) {
            JsonNode ws = want.get("shares").get(i);
            JsonNode gs = got.get("shares").get(i);
            for (String k : List.of("tag", "source", "mountPoint", "proto", "socket", "securityModel", "readOnly")) {
                assertEquals(ws.get(k), gs.get(k), name + ": shares[" + i + "]." + k);
            }
            if (ws.get("proto").asText().equals("virtiofs")) {
                for (String k : List.of("cache", "posixAcl", "extraArgs")) {
                    assertEquals(ws.get(k), gs.has(k) ? gs.get(k) : JSON.createArrayNode(), name + ": shares[" + i + "]." + k);
                }
            }
        }
        for (int i = 0; i < want.get("interfaces").size(); i++) {
            JsonNode wi = want.get("interfaces").get(i);
            JsonNode gi = got.get("interfaces").get(i);
            for (String k : List.of("type", "id", "mac")) {
                assertEquals(wi.get(k), gi.get(k), name + ": interfaces[" + i + "]." + k);
            }
            assertEquals(wi.at("/tap/vhost").asBoolean(), gi.at("/tap/vhost").asBoolean(false), name + ": tap.vhost");
        }
        assertEquals(want.get("devices").size(), got.path("devices").size(), name + ": devices");
        assertEquals(want.get("hugepageMem").asBoolean(), got.path("hugepageMem").asBoolean(false), name + ": hugepageMem");
        assertEquals(want.get("deflateOnOOM").asBoolean(), got.path("deflateOnOOM").asBoolean(true), name + ": deflateOnOOM");
        assertEquals(want.at("/firecracker/driveIoEngine").asText(), got.at("/firecracker/driveIoEngine").asText("Async"), name + ": driveIoEngine");
    }
}
