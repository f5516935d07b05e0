package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nix/lib.nix's specFromMicrovm under the real evaluator, on a configuration shaped like one microvm.nix's module
 * system evaluates: options declared without a default throw when read (interfaces.*.macvtap.link on a tap,
 * volumes.*.mountPoint and size, storeDisk without a store disk), derivations are attribute sets. The spec it gives
 * is read by microforge and gives a runner; the unset options are null, the kernel is the file microvm.nix's runner
 * for the hypervisor boots. (The full option set is covered by the fixtures tests/fixtures/microvm-nix/regen.sh
 * makes with this function from microvm.nix's own options.nix: MicrovmNixSpecTest.)
 */
@Tag("oracle")
class SpecFromMicrovmOracleTest {
    @TempDir
    Path tmp;

    static final String CONFIG = """
            let
              lib = import LIB { };
              undefined = name: throw "The option `microvm.${name}' was accessed but has no value defined.";
              drv = path: extra: { type = "derivation"; outPath = path; } // extra;
              kernel = drv "/nix/store/k-linux" { dev = drv "/nix/store/k-linux-dev" { }; };
              microvm = hv: {
                guest.enable = true; optimize.enable = true; cpu = null; hypervisor = hv; preStart = "";
                extraArgsScript = null; socket = "t.sock"; user = null; inherit kernel;
                initrdPath = "/nix/store/i-initrd/initrd"; vcpu = 1; mem = 256; kernelParams = [ "console=ttyS0" ];
                hugepageMem = false; hotplugMem = 0; hotpluggedMem = 0; balloon = false; initialBalloonMem = 0;
                deflateOnOOM = true; forwardPorts = [ ];
                volumes = [ { image = "/dev/zvol/tank/t"; serial = null; direct = false; readOnly = false; label = null;
                              mountPoint = undefined "volumes.mountPoint"; size = undefined "volumes.size";
                              autoCreate = false; mkfsExtraArgs = [ ]; fsType = "ext4"; imageType = "raw"; } ];
                interfaces = [ { type = "tap"; id = "t-tap"; bridge = null; mac = "02:00:00:00:00:09"; tap.vhost = false;
                                 macvtap = { link = undefined "macvtap.link"; mode = undefined "macvtap.mode"; }; } ];
                shares = [ ]; devices = [ ]; vsock.cid = null; registerWithMachined = false; machineId = null;
                storeOnDisk = false; registerClosure = true; writableStoreOverlay = null; storeDiskType = "erofs";
                storeDisk = undefined "storeDisk"; storeDiskErofsFlags = [ ]; storeDiskSquashfsFlags = [ ];
                systemSymlink = true; credentialFiles = { }; prettyProcnames = true;
                graphics = { enable = false; backend = "gtk"; socket = "t-gpu.sock"; vulkan = null; hostmem = "256M";
                             crosvmPackage = drv "/nix/store/c-crosvm" { }; };
                qemu = { machine = "microvm"; machineOpts = null; extraArgs = [ ]; serialConsole = true;
                         pcieRootPorts = [ ]; package = drv "/nix/store/q-qemu" { }; };
                cloud-hypervisor = { platformOEMStrings = [ ]; extraArgs = [ ]; };
                crosvm = { extraArgs = [ ]; pivotRoot = null; };
                firecracker = { cpu = null; driveIoEngine = "Async"; extraArgs = [ ]; extraConfig = { }; };
                virtiofsd = { inodeFileHandles = "prefer"; threadPoolSize = "`nproc`"; group = "kvm"; extraArgs = [ ]; };
                runner = undefined "runner"; binScripts = { };
              };
            in
            {
              qemu = lib.specFromMicrovm { networking.hostName = "t"; microvm = microvm "qemu"; };
              cloud-hypervisor = lib.specFromMicrovm { networking.hostName = "t"; microvm = microvm "cloud-hypervisor"; };
            }
            """;

    @Test
    void specOfAnEvaluatedConfigurationIsReadAndRun() throws Exception {
        Path nix = Tools.require("nix-instantiate");
        Path file = tmp.resolve("config.nix");
        Files.writeString(file, CONFIG.replace("LIB", Tools.projectRoot().resolve("nix/lib.nix").toString()));
        Exec.Result r = Exec.run(List.of(nix.toString(), "--eval", "--strict", "--json", file.toString()), tmp, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode both = new ObjectMapper().readTree(r.stdout());
        JsonNode q = both.get("qemu");
        assertEquals("t", q.get("name").asText(), "name from networking.hostName");
        assertEquals("/nix/store/k-linux/bzImage", q.get("kernel").asText());
        assertEquals("/nix/store/k-linux-dev/vmlinux", both.get("cloud-hypervisor").get("kernel").asText());
        assertTrue(q.get("storeDisk").isNull(), "no store disk: null");
        assertTrue(q.get("volumes").get(0).get("mountPoint").isNull() && q.get("volumes").get(0).get("size").isNull());
        assertTrue(!q.get("interfaces").get(0).has("macvtap"), "a tap has no macvtap");
        assertTrue(!q.has("runner") && !q.has("binScripts") && !q.get("qemu").has("package") && !q.get("graphics").has("crosvmPackage"),
                "packages and runners are left out");
        for (String h : List.of("qemu", "cloud-hypervisor")) {
            Path spec = tmp.resolve(h + ".json");
            Files.writeString(spec, both.get(h).toString());
            Cli.Result run = Cli.run("runner", "--spec", spec.toString(), "-o", tmp.resolve(h + "-runner").toString());
            assertEquals(0, run.exitCode(), run.err());
            assertEquals("", run.err(), "microvm.nix's defaults give no warning");
        }
    }
}
