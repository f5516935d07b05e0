package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.microforge.testkit.Exec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mkRunner and mkMicroVM built by Nix 2.8 with the stub nixpkgs: the runner's closure holds the kernel, the
 * store disk and microforge, never the guest's system toplevel (whose init path it nevertheless passes to the
 * kernel); the guest module emitted for the same spec evaluates and mounts the store disk the runner attaches.
 */
@Tag("oracle")
class NixRunnerOracleTest {
    static final Path BUILD = NixIntegrationOracleTest.BUILD;

    @Test
    void runnerClosureDoesNotContainTheToplevel(@TempDir Path tmp) throws Exception {
        Path kernel = dev.microforge.testkit.Kernel.require().vmlinuz();
        Exec.Result r = NixTestSupport.nixBuild(BUILD,
                List.of("runner", "runner-squashfs", "runner-disk", "toplevel", "guest-module", "vm-from-config"),
                List.of("--argstr", "kernelFile", kernel.toString()));
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        assertEquals(6, outs.size(), outs.toString());
        String runner = outs.get(0);
        String runnerSquashfs = outs.get(1);
        String disk = outs.get(2);
        String toplevel = outs.get(3);
        Path guestModule = Path.of(outs.get(4));
        // the kernel, a source path in the store named vmlinuz (builtins.path of the host kernel)
        String kernelPath = NixIntegrationOracleTest.requisites(runner).stream()
                .filter(p -> p.endsWith("-vmlinuz")).findFirst().orElseThrow(() -> new AssertionError("no kernel in the runner closure"));

        for (String rn : List.of(runner, runnerSquashfs)) {
            List<String> closure = NixIntegrationOracleTest.requisites(rn);
            assertFalse(closure.contains(toplevel), rn + " must not depend on the toplevel: " + closure);
            for (String p : NixIntegrationOracleTest.requisites(toplevel)) {
                assertFalse(closure.contains(p), rn + " must not depend on anything of the guest system: " + p);
            }
            assertTrue(closure.contains(kernelPath), closure.toString());
            // the wrapper pins the hypervisor from pkgs
            String wrapper = Files.readString(Path.of(rn, "bin", "microvm-run"));
            assertTrue(wrapper.matches("(?s).*PATH=/nix/store/[0-9a-z]{32}-qemu-system-x86_64-host/bin.*"), wrapper);
            String run = Files.readString(Path.of(rn, "bin", ".microvm-run-unwrapped"));
            // the init is on the store disk: the runner passes its path as text only
            assertTrue(run.contains("init=" + toplevel + "/init"), run);
            assertTrue(run.contains(kernelPath), run);
        }
        assertTrue(NixIntegrationOracleTest.requisites(runner).contains(disk));

        // mkMicroVM from an evaluated system (kernel, initrd, parameters from its config; the emitted module
        // imported from its derivation and evaluated by extendModules)
        String fromConfig = outs.get(5);
        List<String> closure = NixIntegrationOracleTest.requisites(fromConfig);
        assertFalse(closure.contains(toplevel), closure.toString());
        assertTrue(closure.stream().anyMatch(p -> p.endsWith("-linux-6.1")) && closure.stream().anyMatch(p -> p.endsWith("-initrd-linux-6.1")), closure.toString());
        String runCfg = Files.readString(Path.of(fromConfig, "bin", ".microvm-run-unwrapped"));
        assertTrue(runCfg.contains("loglevel=4 init=" + toplevel + "/init"), runCfg);
        assertEquals(List.of(), NixIntegrationOracleTest.references(disk));

        // the emitted guest module of the same spec mounts the disk the runner attaches (squashfs: by serial)
        List<JsonNode> v = EmitterOracleTest.evaluate(tmp, List.of(guestModule));
        JsonNode store = v.get(0).path("fileSystems").path("/nix/store");
        assertEquals("/dev/disk/by-id/virtio-nix-store", store.path("device").asText(), v.toString());
        assertEquals("squashfs", store.path("fsType").asText());
        String run = Files.readString(Path.of(runner, "bin", ".microvm-run-unwrapped"));
        assertTrue(run.contains("serial=nix-store"), "the runner gives the store disk the serial the module mounts");
        assertTrue(run.contains(disk), run);
    }
}
