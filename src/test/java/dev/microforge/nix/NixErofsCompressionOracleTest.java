package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nix/lib.nix and the EROFS compressors a newer guest kernel reads (zstd, lzma, deflate), under the real Nix
 * 2.8 evaluator with the stub nixpkgs: mkStoreDisk passes compression, level and pcluster to {@code microforge
 * image build} and says what the guest kernel needs; mkMicroVM's guest module (built by Nix, i.e. emitted by
 * microforge) asserts the kernel release. An evaluation test: the images themselves are not built here.
 */
@Tag("oracle")
class NixErofsCompressionOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Path BUILD = NixIntegrationOracleTest.BUILD;

    static Exec.Result eval(String body) throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        String expr = "let b = import " + BUILD + " { microforgeCommand = \"" + l.command() + "\"; }; in " + body;
        return Exec.run(List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", "--expr", expr), null, null, 120);
    }

    @Test
    void mkStoreDiskPassesTheNewCompressorsAndSaysWhatTheGuestNeeds() throws Exception {
        Exec.Result r = eval("""
                let
                  cmd = d: builtins.elemAt d.drvAttrs.args 4;
                  show = d: { cmd = cmd d; c = d.storeDiskCompression; need = d.storeDiskKernelNeed; };
                in {
                  zstd = show b.disk-erofs-zstd;
                  lzma = show b.disk-erofs-lzma;
                  deflate = show b.disk-erofs-deflate;
                  lz4hc = { c = b.disk-erofs.storeDiskCompression; need = b.disk-erofs.storeDiskKernelNeed; };
                  squashfs = { c = b.disk-squashfs.storeDiskCompression; need = b.disk-squashfs.storeDiskKernelNeed; };
                  needs = b.erofs-kernel-needs;
                  guestSpec = builtins.fromJSON b.vm-zstd.guestModule.drvAttrs.specJson;
                }
                """);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode v = JSON.readTree(r.stdout());
        assertTrue(v.path("zstd").path("cmd").asText().contains("/bin/microforge 'image' 'build' '--type' 'erofs' '--compression' 'zstd'"
                + " '--level' '19' '--label' 'nix-store' '--pcluster' '131072' --closure closure.json -o image"), v.toString());
        assertTrue(v.path("lzma").path("cmd").asText().contains("/bin/microforge 'image' 'build' '--type' 'erofs' '--compression' 'lzma'"
                + " '--label' 'nix-store' '--pcluster' '1048576' --closure closure.json -o image"), v.toString());
        assertTrue(v.path("deflate").path("cmd").asText().contains("/bin/microforge 'image' 'build' '--type' 'erofs' '--compression' 'deflate'"
                + " '--level' '9' '--label' 'nix-store' --closure closure.json -o image"), v.toString());
        assertEquals("{\"option\":\"EROFS_FS_ZIP_ZSTD\",\"version\":\"6.10\"}", v.path("zstd").path("need").toString());
        assertEquals("{\"option\":\"EROFS_FS_ZIP_LZMA\",\"version\":\"5.16\"}", v.path("lzma").path("need").toString());
        assertEquals("{\"option\":\"EROFS_FS_ZIP_DEFLATE\",\"version\":\"6.6\"}", v.path("deflate").path("need").toString());
        assertEquals("{\"c\":\"lz4hc\",\"need\":null}", v.path("lz4hc").toString());
        assertEquals("{\"c\":\"zstd\",\"need\":null}", v.path("squashfs").toString(), "squashfs zstd needs nothing new");
        // the table the library exports is the emitter's (one source of truth each side, checked against each other)
        for (String c : List.of("zstd", "lzma", "deflate")) {
            Emitter.KernelNeed k = Emitter.kernelNeed(new dev.microforge.vm.StoreDisk("/s", dev.microforge.vm.StoreDisk.Type.EROFS, null, c));
            assertEquals(k.version(), v.path("needs").path(c).path("version").asText(), c);
            assertEquals(k.option(), v.path("needs").path(c).path("option").asText(), c);
        }
        assertEquals(3, v.path("needs").size(), v.path("needs").toString());
        assertEquals("{\"compression\":\"zstd\",\"image\":\"/store.img\",\"type\":\"erofs\"}", v.path("guestSpec").path("storeDisk").toString());
    }

    @Test
    void badCompressionOrPclusterFailsTheEvaluationWithOneReason() throws Exception {
        Exec.Result xz = eval("b.disk-erofs-xz.drvPath");
        assertNotEquals(0, xz.exitCode());
        assertTrue(xz.stderr().contains("mkStoreDisk: compression \"xz\" is not one of [\"lz4hc\",\"lz4\",\"none\",\"zstd\",\"lzma\",\"deflate\"] (type erofs)"),
                xz.stderr());
        Exec.Result pc = eval("b.disk-squashfs-pcluster.drvPath");
        assertNotEquals(0, pc.exitCode());
        assertTrue(pc.stderr().contains("mkStoreDisk: pcluster applies to type \"erofs\" only"), pc.stderr());
    }

    /**
     * mkMicroVM with an EROFS zstd store disk: Nix builds its guest module ({@code microforge nix emit} inside
     * a Nix build), and that module's assertion holds for a 6.12 guest kernel and fails for 6.9 with the reason.
     */
    @Test
    void theGuestModuleOfAZstdStoreDiskAssertsLinux610(@TempDir Path dir) throws Exception {
        Exec.Result built = NixTestSupport.nixBuild(BUILD, List.of("vm-zstd.guestModule"), List.of());
        assertEquals(0, built.exitCode(), built.stderr());
        Path module = Path.of(NixTestSupport.lines(built.stdout()).get(0));
        assertTrue(Files.readString(module).contains("\"6.10\""), Files.readString(module));
        Path stubLib = Tools.projectRoot().resolve("tests/nix/stub-nixpkgs/lib.nix");
        Path file = dir.resolve("eval.nix");
        Files.writeString(file, """
                let
                  lib = import %s;
                  m = v: import %s { inherit lib; pkgs = { }; config.boot.kernelPackages.kernel.version = v; };
                in
                map (v: builtins.head (m v).assertions) [ "6.12.117" "6.10" "6.9.12" "5.15.170" ]
                """.formatted(stubLib, module));
        Exec.Result r = Exec.run(List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", file.toString()),
                dir, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode v = JSON.readTree(r.stdout());
        assertEquals(List.of(true, true, false, false), List.of(v.get(0).path("assertion").asBoolean(), v.get(1).path("assertion").asBoolean(),
                v.get(2).path("assertion").asBoolean(), v.get(3).path("assertion").asBoolean()), v.toString());
        assertTrue(v.get(2).path("message").asText().contains("EROFS zstd, which Linux reads from 6.10 on (CONFIG_EROFS_FS_ZIP_ZSTD=y)"), v.toString());
    }
}
