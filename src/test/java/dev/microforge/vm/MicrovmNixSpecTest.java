package dev.microforge.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Specs as microvm.nix writes them: src/test/resources/vm/microvm-nix/*.json are microvm.nix's own options.nix
 * (71beea0) evaluated by nixpkgs' lib.evalModules and turned into specs by nix/lib.nix's specFromMicrovm
 * (tests/fixtures/microvm-nix/regen.sh). Each one gives a runner and a guest module; options microforge cannot honour
 * are refused with one line naming the option and why; options microvm.nix removed get microvm.nix's reason.
 */
class MicrovmNixSpecTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path FIXTURES = Tools.projectRoot().resolve("src/test/resources/vm/microvm-nix");

    @TempDir
    Path tmp;

    static List<String> fixtures() throws IOException {
        try (Stream<Path> s = Files.list(FIXTURES)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void fixturesCoverEveryHypervisorMicrovmNixConfigsUse() throws IOException {
        assertEquals(List.of("cloud-hypervisor.json", "credentials.json", "firecracker.json", "qemu-full.json", "writable-store.json"), fixtures());
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyFixtureGivesARunnerAndAModule(String fixture) throws IOException {
        Path spec = FIXTURES.resolve(fixture);
        Cli.Result r = Cli.run("runner", "--spec", spec.toString(), "-o", tmp.resolve("runner").toString());
        assertEquals(0, r.exitCode(), fixture + ": " + r.err());
        assertFalse(r.err().contains("microvm.nix option"), "microvm.nix's defaults give no warning: " + r.err());
        assertTrue(Files.isExecutable(tmp.resolve("runner/bin/microvm-run")));
        Cli.Result n = Cli.run("nix", "emit", "--spec", spec.toString(), "-o", tmp.resolve("guest.nix").toString());
        assertEquals(0, n.exitCode(), fixture + ": " + n.err());
        assertTrue(Files.readString(tmp.resolve("guest.nix")).contains("fileSystems"));
    }

    String run(String fixture) throws IOException {
        Cli.Result r = Cli.run("runner", "--spec", FIXTURES.resolve(fixture).toString(), "-o", tmp.resolve("r").toString());
        assertEquals(0, r.exitCode(), r.err());
        return Files.readString(tmp.resolve("r/bin/microvm-run"));
    }

    @Test
    void qemuHonoursMicrovmNixOptions() throws IOException {
        String run = run("qemu-full.json");
        // qemu.machineOpts replace the defaults, sorted by name as microvm.nix writes them
        assertTrue(run.contains(" -M microvm,acpi=on,pcie=on,pic=off,pit=off,usb=off "), run);
        assertTrue(run.contains("-netdev tap,id=vm-full-tap,ifname=vm-full-tap,script=no,downscript=no,vhost=on,"), "tap.vhost");
        assertTrue(run.contains("-device vfio-pci,host=0000:01:00.0,multifunction=on "), "devices: PCI passthrough");
        assertTrue(run.contains("share=on,hugetlb=on -numa node,memdev=mem"), "hugepageMem");
        assertTrue(run.contains("deflate-on-oom=off"), "deflateOnOOM false");
        assertTrue(run.contains("-device virtio-keyboard-pci\n"), "qemu.extraArgs last");
        assertTrue(run.contains("-smbios type=1,uuid=664af796-579d-1bdf-1215-b09919f9e4f7 "), "machineId (microvm.nix's default, from the host name)");
        // the virtiofs store share: cache=always, microvm.nix's posixAcl default true
        assertTrue(run.contains("microvm_virtiofsd qemu-full-virtiofs-ro-store.sock /nix/store always 1 0 ''\n"), run);
        assertTrue(run.contains("-kernel /nix/store/1m9a3kmx0ifcfyv3lwvfz3wnbl4d3m4a-linux-6.1.119/bzImage "), "bzImage of the kernel package");
        assertTrue(run.contains("-drive id=vol0,format=raw,") && run.contains("file=/dev/zvol/tank/vm-data"), "the zvol, raw");
    }

    @Test
    void credentialsBecomeFwCfgFiles() throws IOException {
        String run = run("credentials.json");
        assertTrue(run.contains("-fw_cfg name=opt/io.systemd.credentials/API_TOKEN,file=/run/secrets/api-token "
                + "-fw_cfg name=opt/io.systemd.credentials/SOPS_AGE_KEY,file=/run/secrets/guest_microvm_age_key "), run);
    }

    @Test
    void cloudHypervisorAndFirecrackerOptions() throws IOException {
        String run = run("cloud-hypervisor.json");
        assertTrue(run.contains("--platform 'oem_strings=[io.systemd.credential:GREETING=hello]'"), run);
        assertTrue(run.contains("--kernel /nix/store/6wfl4ad5lyk0kbqyz0xczglgixcqidqb-linux-6.1.119-dev/vmlinux "), "vmlinux of the dev output");
        assertTrue(run.contains("microvm_virtiofsd cloud-hypervisor-virtiofs-data.sock /srv/data never 0 0 '' --allow-mmap\n"), run);
        run("firecracker.json");
        JsonNode fc = JSON.readTree(tmp.resolve("r/share/microvm/firecracker.json").toFile());
        assertEquals("Sync", fc.at("/drives/0/io_engine").asText(), "firecracker.driveIoEngine");
    }

    ObjectNode fixture(String name) throws IOException {
        return (ObjectNode) JSON.readTree(FIXTURES.resolve(name).toFile());
    }

    String refused(ObjectNode spec, String... args) throws IOException {
        Path f = tmp.resolve("vm.json");
        Files.writeString(f, JSON.writeValueAsString(spec));
        List<String> a = new java.util.ArrayList<>(List.of("runner", "--spec", f.toString(), "-o", tmp.resolve("refused").toString()));
        a.addAll(List.of(args));
        Cli.Result r = Cli.run(a.toArray(String[]::new));
        assertEquals(2, r.exitCode(), r.err());
        assertFalse(Files.exists(tmp.resolve("refused")), "nothing written");
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("microforge: " + f + ": "), r.err());
        return r.err().substring(("microforge: " + f + ": ").length()).strip();
    }

    @Test
    void removedOptionGetsMicrovmNixsReason() throws IOException {
        ObjectNode s = fixture("qemu-full.json");
        s.put("balloonMem", 256);
        assertEquals("balloonMem: no longer has any effect in microvm.nix; please remove it (The balloonMem option has been"
                + " removed and replaced by the boolean option balloon)", refused(s));
    }

    @Test
    void optionsMicroforgeCannotHonourAreRefusedWithTheReason() throws IOException {
        ObjectNode s = fixture("credentials.json");
        s.put("cpu", "cortex-a53");
        assertTrue(refused(s).startsWith("cpu: emulating another CPU ('cortex-a53') is not supported"));
        s = fixture("credentials.json");
        s.put("hotplugMem", 1024);
        assertTrue(refused(s).startsWith("hotplugMem: memory hotplug (virtio-mem)"));
        s = fixture("credentials.json");
        s.with("graphics").put("enable", true);
        assertTrue(refused(s).startsWith("graphics.enable: graphics are not supported"));
        s = fixture("credentials.json");
        s.put("registerWithMachined", true);
        assertTrue(refused(s).startsWith("registerWithMachined: "));
        s = fixture("firecracker.json");
        s.with("firecracker").putObject("cpu").put("kvm_capabilities", "x");
        assertTrue(refused(s).startsWith("firecracker.cpu: is not supported by microforge"));
        s = fixture("credentials.json");
        s.put("hypervisor", "vfkit");
        assertTrue(refused(s).startsWith("hypervisor: hypervisor 'vfkit' (a microvm.nix option) is not supported by microforge"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cloud-hypervisor", "firecracker", "crosvm", "kvmtool"})
    void credentialsNeedFwCfg(String hv) throws IOException {
        ObjectNode s = fixture("credentials.json");
        s.remove("vsock");
        assertEquals("credentialFiles: " + hv + " does not support systemd credentials (credentialFiles, fw_cfg); supported by: qemu",
                refused(s, "--hypervisor", hv));
    }

    @Test
    void qemuOnlyDevicesAreRefusedElsewhere() throws IOException {
        ObjectNode t = fixture("cloud-hypervisor.json");
        t.withArray("devices").addObject().put("bus", "pci").put("path", "0000:01:00.0");
        assertEquals("devices: cloud-hypervisor does not support PCI/USB passthrough (devices); supported by: qemu", refused(t));
        t = fixture("cloud-hypervisor.json");
        ((ObjectNode) t.get("interfaces").get(0)).with("tap").put("vhost", true);
        assertEquals("interfaces[0].tap.vhost: cloud-hypervisor does not support vhost-net (tap.vhost); supported by: qemu", refused(t));
        t = fixture("firecracker.json");
        t.put("hugepageMem", true);
        assertEquals("hugepageMem: firecracker does not support huge page memory (hugepageMem); supported by: qemu, cloud-hypervisor", refused(t));
    }

    @Test
    void kernelPackageDirectoryGivesTheHypervisorsFile() throws IOException {
        Path kdir = Files.createDirectories(tmp.resolve("linux-6.1"));
        Files.writeString(kdir.resolve("bzImage"), "k");
        ObjectNode s = fixture("credentials.json");
        s.put("kernel", kdir.toString());
        Path f = tmp.resolve("k.json");
        Files.writeString(f, JSON.writeValueAsString(s));
        Cli.Result r = Cli.run("runner", "--spec", f.toString(), "-o", tmp.resolve("k").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.readString(tmp.resolve("k/bin/microvm-run")).contains("-kernel " + kdir + "/bzImage "));
        s.remove("credentialFiles");
        s.put("hypervisor", "cloud-hypervisor");
        assertEquals("kernel: " + kdir + " is a directory without vmlinux (cloud-hypervisor boots the uncompressed vmlinux;"
                + " nixpkgs keeps it in the kernel's dev output, \"${kernel.dev}/vmlinux\"); give the kernel file itself", refused(s));
    }
}
