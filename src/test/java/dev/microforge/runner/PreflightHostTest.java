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
                        + mnt + " (a file system mounted twice gets corrupted); fix: umount " + mnt), mounted.stderr());
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
}
