package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.util.Mounts;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight on a fake host root (/dev, /sys, /etc, /proc, /usr under a temp dir), through the CLI: every failure is
 * one line with what, why and the fix. Checks that need real devices (taps and bridges in a network namespace, loop
 * devices, a non-root user) are in PreflightHostTest.
 */
class PreflightTest {
    @TempDir
    Path tmp;
    Path root;

    @BeforeEach
    void fakeHost() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        touch("dev/kvm");
        Files.createDirectories(root.resolve("sys/module/kvm_intel"));
        touch("sys/class/net/tap0/tun_flags");
        Files.createDirectories(root.resolve("sys/class/net/br0/bridge"));
        Files.createDirectories(root.resolve("sys/class/net/eth0"));
        Files.createDirectories(root.resolve("sys/class/net/notbr"));
        write("etc/qemu/bridge.conf", "# comment\nallow br0\n");
        touch("usr/lib/qemu/qemu-bridge-helper");
        exec("usr/lib/qemu/virtiofsd");
        exec("usr/bin/mkfs.ext4");
        write("proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
        Files.write(Files.createDirectories(root.resolve("boot")).resolve("kernel"), bzImageHeader());
        Files.write(root.resolve("boot/vmlinux"), elfHeader());
        touch("etc/debian_version");
        Files.createDirectories(root.resolve("srv/share"));
        Files.createDirectories(root.resolve("images"));
    }

    /** The first sector and setup header of an x86 boot image: 0x55AA at 0x1FE, "HdrS" at 0x202. */
    static byte[] bzImageHeader() {
        byte[] b = new byte[1024];
        b[0x1fe] = 0x55;
        b[0x1ff] = (byte) 0xaa;
        System.arraycopy("HdrS".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, b, 0x202, 4);
        return b;
    }

    /** An ELF64 little-endian x86-64 header (e_machine 62), as an uncompressed vmlinux starts. */
    static byte[] elfHeader() {
        byte[] b = new byte[64];
        b[0] = 0x7f;
        b[1] = 'E';
        b[2] = 'L';
        b[3] = 'F';
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16] = 2;
        b[18] = 62;
        return b;
    }

    void touch(String p) throws IOException {
        write(p, "");
    }

    void write(String p, String content) throws IOException {
        Path f = root.resolve(p);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content);
    }

    void exec(String p) throws IOException {
        touch(p);
        Files.setPosixFilePermissions(root.resolve(p), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** Runs preflight for a spec body (JSON members after name/kernel); returns the result. */
    Cli.Result preflight(String hypervisor, String accel, String body) throws IOException {
        Path spec = tmp.resolve("vm.json");
        boolean elf = hypervisor.equals("firecracker") || hypervisor.equals("cloud-hypervisor");
        Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + (elf ? "/boot/vmlinux" : "/boot/kernel") + "\",\"storeOnDisk\":false"
                + (body.contains("\"socket\":\"/images/") && !body.contains("\"shares\"") || body.startsWith("\"socket\"") ? "" : ",\"socket\":null")
                + (body.isEmpty() ? "" : "," + body) + "}");
        return Cli.run("preflight", "--spec", spec.toString(), "--hypervisor", hypervisor, "--accel", accel, "--root", root.toString());
    }

    static List<String> lines(Cli.Result r) {
        return r.err().lines().filter(l -> l.startsWith("preflight: ")).toList();
    }

    void expectOneError(Cli.Result r, String... parts) {
        expectErrors(r, 1, parts);
    }

    /** {@code n} error lines; each part appears in one of them; every line names a fix. */
    void expectErrors(Cli.Result r, int n, String... parts) {
        List<String> errors = lines(r).stream().filter(l -> l.startsWith("preflight: error: ")).toList();
        assertEquals(n, errors.size(), n + " problem(s) expected:\n" + r.err());
        for (String p : parts) {
            assertTrue(errors.stream().anyMatch(e -> e.contains(p)), "'" + p + "' in: " + errors);
        }
        for (String e : errors) {
            assertTrue(e.contains("; fix: "), "every problem says how to fix it: " + e);
        }
        assertEquals(1, r.exitCode());
    }

    @Test
    void cleanHostPasses() throws IOException {
        Cli.Result r = preflight("qemu", "kvm", "\"interfaces\":[{\"type\":\"tap\",\"id\":\"tap0\"},{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"br0\"},"
                + "{\"type\":\"macvtap\",\"id\":\"mv0\",\"macvtap\":{\"link\":\"eth0\",\"mode\":\"bridge\"}}],"
                + "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\",\"socket\":\"/images/v.sock\"}],"
                + "\"volumes\":[{\"image\":\"/images/new.img\",\"size\":4,\"mountPoint\":\"/data\"}]");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("preflight: pf (qemu): ok\n", r.out());
    }

    @Test
    void kvm() throws IOException {
        Files.delete(root.resolve("dev/kvm"));
        expectOneError(preflight("firecracker", "kvm", "\"socket\":\"/images/fc.sock\""), "KVM: /dev/kvm does not exist", "firecracker needs KVM", "kvm_intel");
        expectOneError(preflight("qemu", "kvm", ""), "qemu was asked for --accel kvm", "--accel tcg");
        Cli.Result auto = preflight("qemu", "auto", "");
        assertEquals(0, auto.exitCode(), auto.err());
        assertTrue(auto.err().contains("preflight: warning: KVM: /dev/kvm does not exist; qemu falls back to TCG"), auto.err());
        Cli.Result tcg = preflight("qemu", "tcg", "");
        assertEquals("", tcg.err());
        touch("dev/kvm");
        Files.delete(root.resolve("sys/module/kvm_intel"));
        expectOneError(preflight("cloud-hypervisor", "auto", ""), "neither kvm_intel nor kvm_amd is loaded", "cloud-hypervisor needs KVM");
    }

    @Test
    void taps() throws IOException {
        expectOneError(preflight("qemu", "tcg", "\"vcpu\":2,\"interfaces\":[{\"type\":\"tap\",\"id\":\"vm-missing\"}]"),
                "interfaces[0] tap vm-missing: tap device does not exist", "ip tuntap add name vm-missing mode tap", "multi_queue");
        expectOneError(preflight("qemu", "tcg", "\"interfaces\":[{\"type\":\"tap\",\"id\":\"eth0\"}]"),
                "interfaces[0] tap eth0: exists but is not a tap device");
    }

    @Test
    void bridges() throws IOException {
        String br = "\"interfaces\":[{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"%s\"}]";
        expectErrors(preflight("qemu", "tcg", br.formatted("brX")), 2, "bridge brX does not exist", "ip link add name brX type bridge",
                "does not allow bridge brX");
        Files.createDirectories(root.resolve("sys/class/net/brX/bridge"));
        expectOneError(preflight("qemu", "tcg", br.formatted("brX")), "/etc/qemu/bridge.conf does not allow bridge brX",
                "add 'allow brX' to /etc/qemu/bridge.conf");
        expectErrors(preflight("qemu", "tcg", br.formatted("notbr")), 2, "notbr exists but is not a bridge", "does not allow");
        // deny wins over allow, whatever the order; include directives are followed
        write("etc/qemu/bridge.conf", "allow all\ninclude /etc/qemu/more.conf\n");
        write("etc/qemu/more.conf", "deny br0\n");
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "bridge br0 is denied by 'deny br0' in /etc/qemu/more.conf:1",
                "a deny rule wins");
        write("etc/qemu/bridge.conf", "include /etc/qemu/missing.conf\n\tallow br0  \n");
        assertEquals(0, preflight("qemu", "tcg", br.formatted("br0")).exitCode(), "a missing include is ignored, as the helper does");
        // the helper splits at the first space, and only without one at a tab: "allow<TAB>br0<SPACE>" is command "allow<TAB>br0"
        write("etc/qemu/bridge.conf", "allow\tbr0 \n");
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "/etc/qemu/bridge.conf:1: unknown command 'allow\\tbr0'"); // the tab shown escaped
        Files.delete(root.resolve("etc/qemu/bridge.conf"));
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "failed to parse default acl file `/etc/qemu/bridge.conf'",
                "does not exist", "echo 'allow br0' >> /etc/qemu/bridge.conf");
        write("etc/qemu/bridge.conf", "permit br0\n");
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "/etc/qemu/bridge.conf:1: unknown command 'permit'");
        write("etc/qemu/bridge.conf", "allow\n");
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "/etc/qemu/bridge.conf:1: invalid line 'allow'");
        write("etc/qemu/bridge.conf", "allow br0\n");
        Files.delete(root.resolve("usr/lib/qemu/qemu-bridge-helper"));
        expectOneError(preflight("qemu", "tcg", br.formatted("br0")), "the bridge helper /usr/lib/qemu/qemu-bridge-helper does not exist");
    }

    @Test
    void macvtapLink() throws IOException {
        expectOneError(preflight("qemu", "tcg", "\"interfaces\":[{\"type\":\"macvtap\",\"id\":\"mv0\",\"macvtap\":{\"link\":\"eth9\",\"mode\":\"bridge\"}}]"),
                "interfaces[0] macvtap mv0: macvtap link eth9 does not exist");
    }

    @Test
    void images() throws IOException {
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/images/gone.img\",\"autoCreate\":false,\"mountPoint\":null}]"),
                "volumes[0] /images/gone.img: does not exist and autoCreate is false");
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/nodir/x.img\",\"size\":1,\"mountPoint\":null}]"),
                "cannot be created: directory", "mkdir -p");
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/images/huge.img\",\"size\":2000000000,\"mountPoint\":null}]"),
                "needs 2000000000 MiB for the new 2000000000 MiB image but", "MiB free");
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/images/x.img\",\"size\":1,\"mountPoint\":\"/x\",\"fsType\":\"xfs\"}]"),
                "mkfs.xfs is not on PATH", "xfsprogs");
        Files.write(root.resolve("images/small.img"), new byte[4096]);
        Cli.Result grow = preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/images/small.img\",\"size\":1,\"mountPoint\":null}]");
        assertEquals(0, grow.exitCode(), "a smaller image is fine: it is grown at start\n" + grow.err());
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/dev/zvol/tank/vm\",\"mountPoint\":null}]"),
                "volumes[0] /dev/zvol/tank/vm: block device does not exist", "never created");
        touch("dev/zvol/tank/vm");
        expectOneError(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/dev/zvol/tank/vm\",\"mountPoint\":null}]"),
                "is under /dev but not a block device");
        Files.delete(root.resolve("boot/kernel"));
        expectOneError(preflight("qemu", "tcg", ""), "kernel /boot/kernel: does not exist");
    }

    @Test
    void virtiofsd() throws IOException {
        String share = "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\",\"socket\":\"/images/v.sock\"}]";
        Files.delete(root.resolve("usr/lib/qemu/virtiofsd"));
        Cli.Result r = preflight("qemu", "tcg", share);
        expectOneError(r, "virtiofsd: not found on PATH, at /usr/lib/qemu/virtiofsd or /usr/libexec/virtiofsd", "qemu-system-common");
        expectErrors(preflight("qemu", "tcg", share.replace("/srv/share", "/srv/nope")), 2, "source /srv/nope is not a directory",
                "virtiofsd: not found");
        exec("opt/vfsd");
        assertEquals(0, preflight("qemu", "tcg", share.replace("]", "],\"virtiofsd\":{\"path\":\"/opt/vfsd\"}")).exitCode());
    }

    @Test
    void staleSocketsAreRemovedLiveOnesReported() throws IOException {
        Path sock = root.resolve("images/api.sock");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(sock));
        Cli.Result live = preflight("qemu", "tcg", "\"socket\":\"/images/api.sock\"");
        expectOneError(live, "socket /images/api.sock: something is listening on it: is the VM already running?");
        ch.close();
        assertTrue(Files.exists(sock), "closing a bound socket leaves its file behind: a stale socket");
        Cli.Result stale = preflight("qemu", "tcg", "\"socket\":\"/images/api.sock\"");
        assertEquals(0, stale.exitCode(), stale.err());
        assertTrue(stale.err().contains("preflight: fixed: socket /images/api.sock: stale (nothing listening), removed"), stale.err());
        assertFalse(Files.exists(sock));
        touch("images/notasock.sock");
        expectOneError(preflight("qemu", "tcg", "\"socket\":\"/images/notasock.sock\""), "exists and is not a socket");
    }

    /**
     * The mountinfo lines preflight matches a block device against (by major:minor, or by source path): optional
     * fields before the separator, escaped mount points and sources, and malformed lines skipped. The match itself on
     * a real mounted loop device is in PreflightHostTest.
     */
    @Test
    void mountedBlockDeviceIsFoundInMountinfo() {
        List<Mounts.Mount> m = Mounts.parse(List.of(
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
                "36 22 7:3 / /mnt/with\\040space rw,nosuid shared:7 master:2 - ext4 /dev/loop3 rw",
                "37 22 259:1 /sub /srv/tab\\011and\\134back rw - xfs /dev/my\\040disk rw",
                "garbage",
                "38 22 x:y / /bad rw - ext4 /dev/bad rw"));
        assertEquals(List.of(
                new Mounts.Mount(8, 1, "/", "/dev/sda1"),
                new Mounts.Mount(7, 3, "/mnt/with space", "/dev/loop3"),
                new Mounts.Mount(259, 1, "/srv/tab\tand\\back", "/dev/my disk")), m);
        // st_rdev of /dev/loop3 (7:3) and of an NVMe partition (259:1, major above 255) split as the kernel does
        assertEquals(7, Preflight.major(0x703));
        assertEquals(3, Preflight.minor(0x703));
        assertEquals(259, Preflight.major((259L << 8) | 1));
        assertEquals(1, Preflight.minor((259L << 8) | 1));
    }

    @Test
    void unsupportedFeatureNamesFeatureAndHypervisor() throws IOException {
        Cli.Result r = preflight("firecracker", "kvm", "\"socket\":\"/images/fc.sock\",\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\"}]");
        expectErrors(r, 1, "preflight: error: shares[0].proto: firecracker does not support virtiofs shares; supported by: qemu, cloud-hypervisor, crosvm");
    }

    @Test
    void nixosHostGetsNixosOptionsNotCommands() throws IOException {
        Files.delete(root.resolve("etc/debian_version"));
        touch("etc/NIXOS");
        exec("run/wrappers/bin/qemu-bridge-helper");
        Files.delete(root.resolve("usr/lib/qemu/qemu-bridge-helper"));
        Files.delete(root.resolve("etc/qemu/bridge.conf"));
        Files.delete(root.resolve("dev/kvm"));
        Files.delete(root.resolve("usr/lib/qemu/virtiofsd"));
        String body = "\"interfaces\":[{\"type\":\"tap\",\"id\":\"vm-missing\"},{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"br0\"},"
                + "{\"type\":\"bridge\",\"id\":\"c\",\"bridge\":\"br7\"}],"
                + "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\",\"socket\":\"/images/v.sock\"}],"
                + "\"volumes\":[{\"image\":\"/images/x.img\",\"size\":1,\"mountPoint\":\"/x\",\"fsType\":\"xfs\"}]";
        Cli.Result r = preflight("qemu", "kvm", body);
        expectErrors(r, 9,
                "KVM: /dev/kvm does not exist and qemu was asked for --accel kvm; fix: enable virtualization (VT-x/AMD-V) in the firmware; "
                        + "boot.kernelModules = [ \"kvm-intel\" ];, or generate the runner with --accel tcg",
                "interfaces[0] tap vm-missing: tap device does not exist; fix: systemd.network.netdevs.vm-missing = { netdevConfig = "
                        + "{ Name = \"vm-missing\"; Kind = \"tap\"; }; tapConfig = { User = \"root\"; VNetHeader = true; MultiQueue = false; }; }",
                "interfaces[1] bridge b: the bridge helper will fail with \"failed to parse default acl file `/etc/qemu/bridge.conf'\": does not exist; "
                        + "fix: environment.etc.\"qemu/bridge.conf\".text = \"allow br0\\n\"; (or virtualisation.libvirtd.allowedBridges = [ \"br0\" ];)",
                "interfaces[1] bridge b: the bridge helper /usr/lib/qemu/qemu-bridge-helper does not exist (there is one at "
                        + "/run/wrappers/bin/qemu-bridge-helper); fix: set qemu.bridgeHelper to /run/wrappers/bin/qemu-bridge-helper in the spec",
                "interfaces[2] bridge c: bridge br7 does not exist; fix: networking.bridges.br7.interfaces = [ ];",
                "virtiofsd: not found on PATH, at /usr/lib/qemu/virtiofsd or /usr/libexec/virtiofsd; fix: environment.systemPackages = "
                        + "[ pkgs.virtiofsd ]; or set virtiofsd.path to \"${pkgs.virtiofsd}/bin/virtiofsd\"",
                "volumes[0] /images/x.img: is to be created and formatted but mkfs.xfs is not on PATH; fix: environment.systemPackages = [ pkgs.xfsprogs ];");
        for (String l : lines(r)) {
            assertFalse(l.contains("apt-get") || l.contains("ip tuntap") || l.contains("modprobe") || l.contains("echo "),
                    "a NixOS host gets NixOS options, not commands the next nixos-rebuild undoes: " + l);
        }
        // /run/current-system alone also marks NixOS
        Files.delete(root.resolve("etc/NIXOS"));
        Files.createDirectories(root.resolve("run/current-system"));
        assertTrue(preflight("qemu", "kvm", body).err().contains("boot.kernelModules"));
    }

    @Test
    void commandsOnOtherDistributionsWithoutAptGetOutsideDebian() throws IOException {
        Files.delete(root.resolve("usr/lib/qemu/virtiofsd"));
        String body = "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\",\"socket\":\"/images/v.sock\"}],"
                + "\"volumes\":[{\"image\":\"/images/x.img\",\"size\":1,\"mountPoint\":\"/x\",\"fsType\":\"btrfs\"}]";
        expectErrors(preflight("qemu", "tcg", body), 2, "fix: apt-get install virtiofsd", "mkfs.btrfs is not on PATH; fix: apt-get install btrfs-progs");
        Files.delete(root.resolve("etc/debian_version"));
        Cli.Result r = preflight("qemu", "tcg", body);
        expectErrors(r, 2, "fix: install virtiofsd with the distribution's package manager",
                "fix: install the btrfs tools (btrfs-progs) with the distribution's package manager");
        assertFalse(r.err().contains("apt-get"), r.err());
    }

    @Test
    void jsonHasOneObjectPerFindingWithBothFixes() throws IOException {
        Files.delete(root.resolve("etc/qemu/bridge.conf"));
        Path sock = root.resolve("images/api.sock");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(sock));
        ch.close();
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"/boot\",\"storeOnDisk\":false,\"socket\":\"/images/api.sock\","
                + "\"interfaces\":[{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"br0\"}]}");
        Cli.Result r = Cli.run("preflight", "--spec", spec.toString(), "--accel", "tcg", "--root", root.toString(), "--format", "json");
        assertEquals(1, r.exitCode(), r.err());
        assertEquals("", r.err());
        com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        assertEquals("pf", j.get("vm").asText());
        assertEquals("qemu", j.get("hypervisor").asText());
        assertFalse(j.get("nixos").asBoolean());
        assertEquals(2, j.get("errors").asInt());
        assertEquals(0, j.get("warnings").asInt());
        com.fasterxml.jackson.databind.JsonNode f = j.get("findings");
        assertEquals(3, f.size(), r.out());
        for (com.fasterxml.jackson.databind.JsonNode x : f) {
            List<String> keys = new java.util.ArrayList<>();
            x.fieldNames().forEachRemaining(keys::add);
            assertEquals(List.of("check", "subject", "severity", "message", "fix", "fixNixos"), keys);
        }
        assertEquals("kernel", f.get(0).get("check").asText());
        assertEquals("kernel /boot", f.get(0).get("subject").asText());
        assertEquals("error", f.get(0).get("severity").asText());
        assertTrue(f.get(0).get("message").asText().startsWith("is a directory (a kernel package?), not a kernel image"), r.out());
        assertEquals("set kernel to /boot/vmlinux", f.get(0).get("fix").asText());
        assertEquals("set kernel to \"${config.boot.kernelPackages.kernel}/bzImage\"", f.get(0).get("fixNixos").asText());
        assertEquals("bridge", f.get(1).get("check").asText());
        assertEquals("mkdir -p /etc/qemu && echo 'allow br0' >> /etc/qemu/bridge.conf", f.get(1).get("fix").asText());
        assertTrue(f.get(1).get("fixNixos").asText().startsWith("environment.etc.\"qemu/bridge.conf\".text"), r.out());
        assertEquals("socket", f.get(2).get("check").asText());
        assertEquals("fixed", f.get(2).get("severity").asText());
        assertTrue(f.get(2).get("fix").isNull());
    }

    @Test
    void closingLineSaysWhatToDo() throws IOException {
        Files.delete(root.resolve("boot/kernel"));
        Cli.Result r = preflight("qemu", "tcg", "\"interfaces\":[{\"type\":\"tap\",\"id\":\"vm-missing\"}]");
        assertEquals("preflight: pf (qemu): 2 problems: fix them, or start without preflight: microvm-run --no-preflight"
                + " (or MICROVM_NO_PREFLIGHT=1)\n", r.out());
    }

    @Test
    void everyUnsupportedFeatureIsListed() throws IOException {
        Cli.Result r = preflight("firecracker", "kvm", "\"socket\":\"/images/fc.sock\",\"shares\":["
                + "{\"proto\":\"virtiofs\",\"tag\":\"a\",\"source\":\"/srv/share\",\"mountPoint\":\"/a\"},"
                + "{\"proto\":\"9p\",\"tag\":\"b\",\"source\":\"/srv/share\",\"mountPoint\":\"/b\"}],"
                + "\"interfaces\":[{\"type\":\"user\",\"id\":\"u\"}]");
        expectErrors(r, 3, "shares[0].proto: firecracker does not support virtiofs shares",
                "shares[1].proto: firecracker does not support 9p shares", "interfaces[0].type: firecracker does not support user (SLiRP) networking");
    }

    @Test
    void kernelFormatAgainstTheHypervisor() throws IOException {
        Files.createDirectories(root.resolve("boot/pkg"));
        Files.write(root.resolve("boot/pkg/bzImage"), bzImageHeader());
        Files.write(root.resolve("boot/pkg/vmlinux"), elfHeader());
        String dir = "\"kernel\":\"/boot/pkg\"";
        expectOneError(preflightKernel("qemu", "/boot/pkg"), "kernel /boot/pkg: is a directory (a kernel package?), not a kernel image: qemu fails to "
                + "start (\"could not load kernel ...: Is a directory\"); fix: set kernel to /boot/pkg/bzImage");
        expectOneError(preflightKernel("cloud-hypervisor", "/boot/pkg"), "is a directory", "fix: set kernel to /boot/pkg/vmlinux");
        expectOneError(preflightKernel("firecracker", "/boot/kernel"), "kernel /boot/kernel: is a bzImage, but firecracker boots only an "
                + "uncompressed ELF vmlinux; fix: give the uncompressed vmlinux");
        expectOneError(preflightKernel("cloud-hypervisor", "/boot/kernel"), "is a bzImage, but cloud-hypervisor boots only an uncompressed ELF vmlinux");
        expectOneError(preflightKernel("kvmtool", "/boot/vmlinux"), "kernel /boot/vmlinux: is an ELF vmlinux, but kvmtool boots a bzImage");
        write("boot/notes.txt", "not a kernel\n");
        expectOneError(preflightKernel("qemu", "/boot/notes.txt"), "kernel /boot/notes.txt: is not a kernel image (neither a bzImage");
        byte[] arm = elfHeader();
        arm[18] = (byte) 183;
        Files.write(root.resolve("boot/Image"), arm);
        expectOneError(preflightKernel("crosvm", "/boot/Image"), "is an ELF file, but not a 64-bit x86 one");
        for (String h : List.of("qemu", "crosvm")) {
            assertEquals(0, preflightKernel(h, "/boot/kernel").exitCode());
            assertEquals(0, preflightKernel(h, "/boot/vmlinux").exitCode());
        }
        assertEquals(0, preflightKernel("firecracker", "/boot/vmlinux").exitCode());
        assertTrue(dir.contains("pkg"));
    }

    /** Preflight with the given kernel (KVM present in the fake root). */
    Cli.Result preflightKernel(String hypervisor, String kernel) throws IOException {
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + kernel + "\",\"storeOnDisk\":false,\"socket\":\"/images/k.sock\"}");
        return Cli.run("preflight", "--spec", spec.toString(), "--hypervisor", hypervisor, "--accel", "kvm", "--root", root.toString());
    }

    @Test
    void kernelFormatOfRealFiles() throws IOException {
        Path vmlinuz;
        try (var l = Files.list(Path.of("/boot"))) {
            vmlinuz = l.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).sorted().findFirst().orElse(null);
        }
        if (vmlinuz == null) {
            throw dev.microforge.testkit.Tools.unavailable("no /boot/vmlinuz-* (tests/install-deps.sh installs linux-image-amd64)");
        }
        assertEquals(Preflight.KernelFormat.BZIMAGE, Preflight.kernelFormat(vmlinuz), vmlinuz.toString());
        Path elf = Path.of(ProcessHandle.current().info().command().orElseThrow()).toRealPath();
        assertEquals(Preflight.KernelFormat.ELF, Preflight.kernelFormat(elf), elf.toString());
        assertEquals(Preflight.KernelFormat.DIRECTORY, Preflight.kernelFormat(Path.of("/boot")));
        assertEquals(Preflight.KernelFormat.OTHER, Preflight.kernelFormat(Path.of("/etc/passwd")));
    }

    @Test
    void microvmMachineUnderTcg() throws IOException {
        String m = "\"qemu\":{\"machine\":\"microvm\"}";
        expectOneError(preflight("qemu", "tcg", m), "qemu.machine microvm: hangs under --accel tcg (the guest finds no timer it can calibrate and "
                + "never boots); fix: remove qemu.machine (the runner then picks q35 for TCG and microvm for KVM), or run with --accel kvm");
        assertEquals(0, preflight("qemu", "kvm", m).exitCode());
        assertEquals(0, preflight("qemu", "auto", m).exitCode(), "KVM usable: auto means KVM");
        assertEquals(0, preflight("qemu", "tcg", "\"qemu\":{\"machine\":\"q35\"}").exitCode());
        Files.delete(root.resolve("dev/kvm"));
        Cli.Result auto = preflight("qemu", "auto", m);
        expectOneError(auto, "qemu.machine microvm: qemu falls back to TCG here (KVM unusable, see above), where the microvm machine hangs");
        assertTrue(auto.err().contains("preflight: warning: KVM: /dev/kvm does not exist; qemu falls back to TCG"), auto.err());
    }

    @Test
    void bridgeHelperFromTheSpec() throws IOException {
        touch("etc/NIXOS");
        Files.delete(root.resolve("usr/lib/qemu/qemu-bridge-helper"));
        exec("run/wrappers/bin/qemu-bridge-helper");
        String br = "\"interfaces\":[{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"br0\"}]";
        expectOneError(preflight("qemu", "tcg", br), "the bridge helper /usr/lib/qemu/qemu-bridge-helper does not exist");
        String named = br + ",\"qemu\":{\"bridgeHelper\":\"/run/wrappers/bin/qemu-bridge-helper\"}";
        Cli.Result ok = preflight("qemu", "tcg", named);
        assertEquals(0, ok.exitCode(), ok.err());
        // the runner passes the same helper to qemu
        Path spec = tmp.resolve("vm.json");
        Cli.Result gen = Cli.run("runner", "--spec", spec.toString(), "--accel", "tcg", "--microforge", "none", "-o", tmp.resolve("run").toString());
        assertEquals(0, gen.exitCode(), gen.err());
        assertTrue(Files.readString(tmp.resolve("run/bin/microvm-run")).contains("bridge,id=b,br=br0,helper=/run/wrappers/bin/qemu-bridge-helper"));
        // NixOS without the wrapper: the wrapper and the spec field
        Files.delete(root.resolve("run/wrappers/bin/qemu-bridge-helper"));
        Cli.Result r = Cli.run("preflight", "--spec", spec.toString(), "--accel", "tcg", "--root", root.toString());
        expectOneError(r, "the bridge helper /run/wrappers/bin/qemu-bridge-helper does not exist; fix: security.wrappers.qemu-bridge-helper = "
                + "{ source = \"${pkgs.qemu}/libexec/qemu-bridge-helper\"");
        // elsewhere: the helper qemu finds beside its binary (../libexec) is named
        Files.delete(root.resolve("etc/NIXOS"));
        exec("usr/bin/qemu-system-x86_64");
        exec("usr/libexec/qemu-bridge-helper");
        expectOneError(preflight("qemu", "tcg", br), "the bridge helper /usr/lib/qemu/qemu-bridge-helper does not exist (there is one at "
                + "/usr/libexec/qemu-bridge-helper); fix: set qemu.bridgeHelper to /usr/libexec/qemu-bridge-helper in the spec");
    }

    @Test
    void autoCreateOnABlockDeviceIsNamed() throws IOException {
        Cli.Result r = preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/dev/zvol/tank/vm\",\"mountPoint\":null,\"autoCreate\":true}]");
        assertTrue(r.err().contains("microforge: warning: volumes[0].autoCreate: ignored for block device /dev/zvol/tank/vm (a block device is "
                + "never created, resized or formatted)"), r.err());
        assertFalse(preflight("qemu", "tcg", "\"volumes\":[{\"image\":\"/dev/zvol/tank/vm\",\"mountPoint\":null}]").err().contains("autoCreate"));
    }

    /**
     * Under microforge's units the virtiofsd daemons run in their own units (MICROVM_VIRTIOFSD_EXTERNAL): a share socket
     * must exist, and is never connected to (a virtiofsd serves one connection: a probe would end it and make the VM
     * look as running, so the units would skip the whole preflight).
     */
    @Test
    void unitStartedVirtiofsdSocketsAreCheckedNotProbed() throws Exception {
        Files.delete(root.resolve("usr/lib/qemu/virtiofsd")); // microvm-run starts none: not needed
        byte[] spec = ("{\"name\":\"pf\",\"kernel\":\"/boot/kernel\",\"storeOnDisk\":false,\"socket\":null,\"shares\":[{\"proto\":"
                + "\"virtiofs\",\"tag\":\"sh\",\"source\":\"/srv/share\",\"mountPoint\":\"/mnt\",\"socket\":\"/images/sh.sock\"}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        dev.microforge.vm.VmSpec vm = dev.microforge.vm.VmSpecReader.parse(spec, "vm.json", dev.microforge.util.Events.NONE);
        Host host = new Host(root, root, "/usr/bin:/bin", true, "root");
        java.util.function.Function<List<Preflight.Finding>, List<String>> errors = l -> l.stream()
                .filter(f -> f.severity() == Preflight.Severity.ERROR).map(f -> f.subject() + ": " + f.message()).toList();

        assertEquals(List.of("socket /images/sh.sock: the virtiofsd of share sh is not serving it (MICROVM_VIRTIOFSD_EXTERNAL is set:"
                + " the daemons run in their own units)"), errors.apply(Preflight.run(vm, Accel.TCG, host, true)));
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(root.resolve("images/sh.sock")));
            ch.configureBlocking(false);
            assertEquals(List.of(), errors.apply(Preflight.run(vm, Accel.TCG, host, true)));
            assertEquals(null, ch.accept(), "the preflight connected to the virtiofsd's socket");
            // microvm-run's own virtiofsd: a listener on the socket means another VM, and virtiofsd must be installed
            List<String> own = errors.apply(Preflight.run(vm, Accel.TCG, host, false));
            assertTrue(own.stream().anyMatch(e -> e.startsWith("socket /images/sh.sock: something is listening on it")), own.toString());
            assertTrue(own.stream().anyMatch(e -> e.startsWith("virtiofsd: ")), own.toString());
        }
    }
}
