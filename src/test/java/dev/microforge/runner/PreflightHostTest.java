package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight against real devices (needs root, as in strict mode): taps, a bridge and a macvtap link made in a private network
 * namespace (preflight runs inside it via 'ip netns exec', which gives it that namespace's /sys/class/net); a loop
 * device standing in for a zvol: accepted, refused while mounted on the host, refused when smaller than the declared
 * size, and refused to a non-root user who is not in its group (preflight run as 'nobody' with setpriv).
 */
@Tag("oracle")
@Tag("root")
class PreflightHostTest {
    @TempDir
    Path tmp;

    static void requireRoot() {
        Tools.requireRoot("taps, bridges, loop devices");
    }

    /** java + a class path readable by any user (the Maven repository under /root is not). */
    List<String> java() throws IOException, InterruptedException {
        Path cp = Files.createDirectories(tmp.resolve("cp"));
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(e);
            if (!Files.exists(src) || e.contains("junit") || e.contains("opentest4j") || e.contains("apiguardian")) {
                continue;
            }
            Path dst = cp.resolve(n++ + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (Stream<Path> s = Files.walk(src)) {
                    for (Path p : s.toList()) {
                        Path t = dst.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(src, dst);
            }
            entries.add(dst.toString());
        }
        Exec.ok("chmod", "-R", "a+rX", tmp.toString());
        String java = ProcessHandle.current().info().command().orElse("java");
        return List.of(java, "-cp", String.join(File.pathSeparator, entries), "dev.microforge.cli.Main");
    }

    Exec.Result preflight(List<String> prefix, List<String> java, Path spec, String accel) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(java);
        cmd.addAll(List.of("preflight", "--spec", spec.toString(), "--accel", accel));
        return Exec.run(cmd, tmp, null, 120);
    }

    @Test
    void tapsBridgesAndMacvtapLinksInANetworkNamespace() throws Exception {
        requireRoot();
        Tools.require("ip");
        String ns = "mfpf" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "tap0", "mode", "tap");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "set", "tap0", "up");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "add", "br0", "type", "bridge");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p");
            Exec.ok("ip", "netns", "exec", ns, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth0p");
            Path spec = tmp.resolve("vm.json");
            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"/proc/self/exe\",\"storeOnDisk\":false,\"socket\":null,\"interfaces\":["
                    + "{\"type\":\"tap\",\"id\":\"tap0\"},{\"type\":\"tap\",\"id\":\"tap1\"},{\"type\":\"tap\",\"id\":\"veth0\"},"
                    + "{\"type\":\"bridge\",\"id\":\"b0\",\"bridge\":\"br0\"},{\"type\":\"bridge\",\"id\":\"b1\",\"bridge\":\"brX\"},"
                    + "{\"type\":\"bridge\",\"id\":\"b2\",\"bridge\":\"eth9\"},"
                    + "{\"type\":\"macvtap\",\"id\":\"mv0\",\"macvtap\":{\"link\":\"eth9\",\"mode\":\"bridge\"}},"
                    + "{\"type\":\"macvtap\",\"id\":\"mv1\",\"macvtap\":{\"link\":\"eth8\",\"mode\":\"bridge\"}}]}");
            Exec.Result r = preflight(List.of("ip", "netns", "exec", ns), java(), spec, "tcg");
            String err = r.stderr();
            assertEquals(1, r.exitCode(), err);
            assertFalse(err.contains("tap tap0:"), "tap0 exists and is a tap:\n" + err);
            assertTrue(err.contains("preflight: error: interfaces[1] tap tap1: tap device does not exist; fix: ip tuntap add name tap1 mode tap"), err);
            assertTrue(err.contains("preflight: error: interfaces[2] tap veth0: exists but is not a tap device"), err);
            assertFalse(err.contains("bridge br0 does not exist") || err.contains("br0 exists but is not a bridge"), err);
            assertTrue(err.contains("preflight: error: interfaces[4] bridge b1: bridge brX does not exist; fix: ip link add name brX type bridge"), err);
            assertTrue(err.contains("preflight: error: interfaces[5] bridge b2: eth9 exists but is not a bridge"), err);
            assertFalse(err.contains("macvtap mv0"), err);
            assertTrue(err.contains("preflight: error: interfaces[7] macvtap mv1: macvtap link eth8 does not exist"), err);
            if (!Files.exists(Path.of("/etc/qemu/bridge.conf"))) {
                assertTrue(err.contains("interfaces[3] bridge b0: the bridge helper will fail with \"failed to parse default acl file"
                        + " `/etc/qemu/bridge.conf'\": does not exist; fix: mkdir -p /etc/qemu && echo 'allow br0' >> /etc/qemu/bridge.conf"), err);
            }
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    @Test
    void loopDeviceAsRawVolume() throws Exception {
        requireRoot();
        Tools.require("losetup");
        Tools.require("setpriv");
        Path img = tmp.resolve("zvol.img");
        Files.write(img, new byte[8 << 20]);
        Exec.ok(Tools.require("mkfs.ext4").toString(), "-q", img.toString());
        String dev = Exec.ok("losetup", "-f", "--show", img.toString()).out().trim();
        Path mnt = Files.createDirectories(tmp.resolve("mnt point"));
        try {
            List<String> java = java();
            Path spec = tmp.resolve("vm.json");
            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"/proc/self/exe\",\"storeOnDisk\":false,\"socket\":null,"
                    + "\"volumes\":[{\"image\":\"" + dev + "\",\"mountPoint\":null,\"size\":8}]}");
            Exec.Result ok = preflight(List.of(), java, spec, "tcg");
            assertEquals(0, ok.exitCode(), ok.stderr());

            Exec.ok("mount", dev, mnt.toString());
            try {
                Exec.Result mounted = preflight(List.of(), java, spec, "tcg");
                assertEquals(1, mounted.exitCode());
                assertTrue(mounted.stderr().contains("preflight: error: volumes[0] " + dev + ": block device is mounted on the host at "
                        + mnt + " (a file system mounted twice gets corrupted); fix: umount '" + mnt + "'"), mounted.stderr());
            } finally {
                Exec.ok("umount", mnt.toString());
            }

            Files.writeString(spec, Files.readString(spec).replace("\"size\":8", "\"size\":16"));
            Exec.Result small = preflight(List.of(), java, spec, "tcg");
            assertTrue(small.stderr().contains("preflight: error: volumes[0] " + dev + ": block device has 8 MiB, less than size 16 MiB;"
                    + " fix: use a larger device or lower size (block devices are never resized)"), small.stderr());

            Files.writeString(spec, Files.readString(spec).replace("\"size\":16", "\"size\":8"));
            String group = Files.readAttributes(Path.of(dev), java.nio.file.attribute.PosixFileAttributes.class).group().getName();
            Exec.Result nobody = preflight(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), java, spec, "tcg");
            assertEquals(1, nobody.exitCode(), nobody.stderr());
            assertTrue(nobody.stderr().contains("preflight: error: volumes[0] " + dev + ": block device is not readable and writable by nobody (group "
                    + group + "); fix: add nobody to group " + group + ": usermod -aG " + group + " nobody"), nobody.stderr());
        } finally {
            Exec.run(List.of("losetup", "-d", dev), null, null, 30);
        }
    }

    /** A file that starts like an x86 boot image ("HdrS" at 0x202), readable by anyone. */
    Path bzImage() throws IOException {
        Path k = tmp.resolve("bzImage");
        Files.write(k, PreflightTest.bzImageHeader());
        return k;
    }

    static String tap(String id) {
        return "{\"type\":\"tap\",\"id\":\"" + id + "\"}";
    }

    @Test
    @Tag("root")
    void tapFlagsAndOwnersAgainstWhatQemuAsks() throws Exception {
        requireRoot();
        Tools.require("ip");
        Tools.require("setpriv");
        String ns = "mfpt" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            List<String> in = List.of("ip", "netns", "exec", ns);
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "tnomq", "mode", "tap");
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "tmq", "mode", "tap", "multi_queue");
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "ttun", "mode", "tun");
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "troot", "mode", "tap", "user", "0");
            Exec.ok("ip", "netns", "exec", ns, "ip", "tuntap", "add", "name", "tnobody", "mode", "tap", "user", "65534");
            for (String t : List.of("tnomq", "tmq", "ttun", "troot", "tnobody")) {
                Exec.ok("ip", "netns", "exec", ns, "ip", "link", "set", t, "up");
            }
            String kernel = bzImage().toString();
            Path spec = tmp.resolve("vm.json");
            List<String> java = java();

            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + kernel + "\",\"storeOnDisk\":false,\"socket\":null,\"vcpu\":2,"
                    + "\"interfaces\":[" + tap("tnomq") + "," + tap("tmq") + "," + tap("ttun") + "]}");
            Exec.Result r = preflight(in, java, spec, "tcg");
            String err = r.stderr();
            assertEquals(1, r.exitCode(), err);
            assertTrue(err.contains("preflight: error: interfaces[0] tap tnomq: was created without multi_queue but qemu opens it with queues=2"
                    + " (vcpu 2): qemu fails with \"could not configure /dev/net/tun (tnomq): Invalid argument\"; fix: ip link del tnomq && "
                    + "ip tuntap add name tnomq mode tap user root vnet_hdr multi_queue && ip link set tnomq up"), err);
            assertFalse(err.contains("tap tmq:"), err);
            assertTrue(err.contains("preflight: error: interfaces[2] tap ttun: is a tun (layer 3) device, not a tap"), err);

            Files.writeString(spec, Files.readString(spec).replace("\"vcpu\":2", "\"vcpu\":1"));
            err = preflight(in, java, spec, "tcg").stderr();
            assertFalse(err.contains("tap tnomq:"), err);
            assertTrue(err.contains("preflight: error: interfaces[1] tap tmq: was created with multi_queue but qemu opens it without (vcpu 1)"), err);

            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + kernel + "\",\"storeOnDisk\":false,\"socket\":null,"
                    + "\"interfaces\":[" + tap("troot") + "," + tap("tnobody") + "," + tap("tnomq") + "]}");
            List<String> nobody = List.of("ip", "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
            r = preflight(nobody, java, spec, "tcg");
            err = r.stderr();
            assertEquals(1, r.exitCode(), err);
            assertTrue(err.contains("preflight: error: interfaces[0] tap troot: belongs to uid 0, not to nobody (uid 65534): opening it fails"
                    + " with \"Operation not permitted\" (without CAP_NET_ADMIN); fix: ip link del troot && ip tuntap add name troot mode tap"
                    + " user nobody vnet_hdr"), err);
            assertFalse(err.contains("tap tnobody:"), err);
            assertFalse(err.contains("tap tnomq:"), "no owner: anyone may open it\n" + err);
            assertEquals(1, err.lines().filter(l -> l.startsWith("preflight: error:")).count(), err);
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    static String macvtap(String id, String link, String mode, String mac) {
        return "{\"type\":\"macvtap\",\"id\":\"" + id + "\",\"mac\":\"" + mac + "\",\"macvtap\":{\"link\":\"" + link
                + "\",\"mode\":\"" + mode + "\"}}";
    }

    @Test
    @Tag("root")
    void existingMacvtapsAgainstTheSpec() throws Exception {
        requireRoot();
        Tools.require("ip");
        String ns = "mfpm" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            List<String> in = List.of("ip", "netns", "exec", ns);
            String mac = "02:00:00:00:00:0a";
            String[][] setup = {
                {"ip", "link", "add", "p0", "type", "veth", "peer", "name", "p0peer"},
                {"ip", "link", "add", "p1", "type", "veth", "peer", "name", "p1peer"},
                {"ip", "link", "set", "p0", "up"},
                {"ip", "link", "set", "p1", "up"},
                {"ip", "link", "add", "link", "p0", "name", "mvok", "address", mac, "type", "macvtap", "mode", "bridge"},
                {"ip", "link", "add", "link", "p0", "name", "mvmac", "address", "02:00:00:00:00:0b", "type", "macvtap", "mode", "bridge"},
                {"ip", "link", "add", "link", "p0", "name", "mvdown", "address", "02:00:00:00:00:0c", "type", "macvtap", "mode", "bridge"},
                {"ip", "link", "add", "link", "p0", "name", "mvmode", "address", "02:00:00:00:00:0d", "type", "macvtap", "mode", "vepa"},
                {"ip", "link", "add", "link", "p1", "name", "mvlink", "address", "02:00:00:00:00:0e", "type", "macvtap", "mode", "bridge"},
                {"ip", "link", "set", "mvok", "up"},
                {"ip", "link", "set", "mvmac", "up"},
                {"ip", "link", "set", "mvmode", "up"},
                {"ip", "link", "set", "mvlink", "up"},
            };
            for (String[] c : setup) {
                List<String> cmd = new ArrayList<>(in);
                cmd.addAll(List.of(c));
                Exec.run(cmd, null, null, 30).check(cmd);
            }
            Path spec = tmp.resolve("vm.json");
            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + bzImage() + "\",\"storeOnDisk\":false,\"socket\":null,"
                    + "\"interfaces\":[" + macvtap("mvok", "p0", "bridge", mac) + "," + macvtap("mvmac", "p0", "bridge", "02:00:00:00:00:01")
                    + "," + macvtap("mvdown", "p0", "bridge", "02:00:00:00:00:0c") + "," + macvtap("mvmode", "p0", "bridge", "02:00:00:00:00:0d")
                    + "," + macvtap("mvlink", "p0", "bridge", "02:00:00:00:00:0e") + "," + macvtap("p1peer", "p0", "bridge", "02:00:00:00:00:0f")
                    + "]}");
            Exec.Result r = preflight(in, java(), spec, "tcg");
            String err = r.stderr();
            assertEquals(1, r.exitCode(), err);
            assertFalse(err.contains("macvtap mvok:"), err);
            assertTrue(err.contains("preflight: error: interfaces[1] macvtap mvmac: has MAC 02:00:00:00:00:0b but the VM's is 02:00:00:00:00:01"
                    + " (mac, or derived from the VM name and id): microvm-run sets the MAC only when it creates the interface, and the guest's"
                    + " frames would not reach it; fix: ip link set mvmac address 02:00:00:00:00:01, or ip link del mvmac"), err);
            assertTrue(err.contains("preflight: error: interfaces[2] macvtap mvdown: is DOWN: microvm-run brings the link up only when it"
                    + " creates it, so the guest would have no network; fix: ip link set mvdown up"), err);
            assertTrue(err.contains("preflight: error: interfaces[3] macvtap mvmode: is in mode vepa, not bridge (macvtap.mode); fix: ip link del mvmode"), err);
            assertTrue(err.contains("preflight: error: interfaces[4] macvtap mvlink: sits on p1, not on macvtap.link p0; fix: ip link del mvlink"), err);
            assertTrue(err.contains("preflight: error: interfaces[5] macvtap p1peer: exists but is not a macvtap interface"), err);
            assertEquals(5, err.lines().filter(l -> l.startsWith("preflight: error:")).count(), err);
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    @Test
    @Tag("root")
    void loopDevicesWithAndWithoutAFileSystem() throws Exception {
        requireRoot();
        Tools.require("losetup");
        Path mkfs = Tools.require("mkfs.ext4");
        Path blankImg = tmp.resolve("blank.img");
        Files.write(blankImg, new byte[4 << 20]);
        Path ext4Img = tmp.resolve("ext4.img");
        Files.write(ext4Img, new byte[4 << 20]);
        Exec.ok(mkfs.toString(), "-q", ext4Img.toString());
        String blank = Exec.ok("losetup", "-f", "--show", blankImg.toString()).out().trim();
        String ext4 = null;
        try {
            ext4 = Exec.ok("losetup", "-f", "--show", ext4Img.toString()).out().trim();
            Path link = tmp.resolve("zvol-link");
            Files.createSymbolicLink(link, Path.of(ext4));
            Path spec = tmp.resolve("vm.json");
            Files.writeString(spec, "{\"name\":\"pf\",\"kernel\":\"" + bzImage() + "\",\"storeOnDisk\":false,\"socket\":null,\"volumes\":["
                    + "{\"image\":\"" + blank + "\",\"mountPoint\":\"/data\",\"autoCreate\":false},"
                    + "{\"image\":\"" + ext4 + "\",\"mountPoint\":\"/x\",\"fsType\":\"xfs\"},"
                    + "{\"image\":\"" + link + "\",\"mountPoint\":\"/z\",\"serial\":\"z\",\"size\":1}]}");
            Exec.Result r = preflight(List.of(), java(), spec, "tcg");
            String err = r.stderr();
            assertEquals(1, r.exitCode(), err);
            assertTrue(err.contains("preflight: error: volumes[0] " + blank + ": block device has no file system (its first 128 KiB are zero)"
                    + " and the guest mounts it at /data as ext4; a block device is never formatted; fix: mkfs.ext4 " + blank
                    + " (erases the device), or drop mountPoint to give the guest a raw disk"), err);
            assertTrue(err.contains("preflight: error: volumes[1] " + ext4 + ": holds a file system of type ext4 but fsType is xfs: the guest's"
                    + " mount at /x would fail; fix: set fsType to ext4"), err);
            assertFalse(err.contains("error: volumes[2]"), "the ext4 device holds ext4:\n" + err);
            assertTrue(err.contains("preflight: warning: volumes[2] " + link + ": autoCreate is ignored for a block device: it is never created,"
                    + " resized or formatted"), err);
            assertEquals(2, err.lines().filter(l -> l.startsWith("preflight: error:")).count(), err);
        } finally {
            Exec.run(List.of("losetup", "-d", blank), null, null, 30);
            if (ext4 != null) {
                Exec.run(List.of("losetup", "-d", ext4), null, null, 30);
            }
        }
    }
}
