package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
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
        touch("boot/kernel");
        Files.createDirectories(root.resolve("srv/share"));
        Files.createDirectories(root.resolve("images"));
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
        Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"/boot/kernel\",\"storeOnDisk\":false"
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
        if (root.resolve("usr/bin/virtiofsd").toFile().exists()) {
            return;
        }
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

    @Test
    void mountedBlockDeviceIsFoundInMountinfo() {
        List<Preflight.Mount> m;
        String line = "36 22 7:3 / /mnt/with\\040space rw - ext4 /dev/loop3 rw";
        assertEquals("/mnt/with space", Preflight.unescape("/mnt/with\\040space"));
        assertEquals(7, Preflight.major(0x703));
        assertEquals(3, Preflight.minor(0x703));
        assertEquals(259, Preflight.major((259L << 8) | 1));
        assertTrue(line.contains("7:3"));
    }

    @Test
    void unsupportedFeatureNamesFeatureAndHypervisor() throws IOException {
        Cli.Result r = preflight("firecracker", "kvm", "\"socket\":\"/images/fc.sock\",\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/srv/share\",\"mountPoint\":\"/m\"}]");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("vm.json: shares[0].proto: firecracker does not support virtiofs shares; supported by: qemu, cloud-hypervisor, crosvm"), r.err());
    }
}
