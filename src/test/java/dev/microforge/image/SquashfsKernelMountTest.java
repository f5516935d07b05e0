package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.Guest;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.TreeHash;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Debian 6.1 kernel mounts microforge's SquashFS images: every compressor, small and large blocks,
 * fragments on and off, all on disks of ONE QEMU TCG boot; the guest hashes every file and the manifest
 * equals the host's (modes normalized as the reproducibility rules say), and every inode is 0:0 with the
 * image's one mtime.
 */
@Tag("oracle")
class SquashfsKernelMountTest {
    @TempDir
    Path tmp;

    static final long MTIME = 1_700_000_000L;

    @Test
    void kernelMountsEveryVariantAndSeesTheSameFiles() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 600);
        Map<String, ImageOptions> variants = new LinkedHashMap<>();
        ImageOptions base = ImageOptions.defaults().withThreads(2).withMtime(MTIME);
        variants.put("zstd", base.withCompression("zstd"));
        variants.put("xz-1m", base.withCompression("xz").withBlockSize(1L << 20)); // as nixpkgs make-squashfs
        variants.put("gzip", base.withCompression("gzip"));
        variants.put("lz4", base.withCompression("lz4"));
        variants.put("none", base.withCompression("none"));
        variants.put("zstd-4k-nofrag", base.withCompression("zstd").withBlockSize(4096L).withFragments(false));
        variants.put("gzip-4k-notail", base.withCompression("gzip").withBlockSize(4096L).withTailPacking(false));

        Guest.Builder g = Guest.builder().modules("squashfs");
        StringBuilder script = new StringBuilder();
        for (Map.Entry<String, ImageOptions> v : variants.entrySet()) {
            Path img = tmp.resolve(v.getKey() + ".squashfs");
            ImageBuild.fromDirectory(src, "squashfs", v.getValue(), img);
            String serial = "sq-" + v.getKey();
            g.disk(img, serial);
            script.append("mkdir -p /m/").append(v.getKey()).append('\n')
                    .append("mount -t squashfs -o ro /dev/disk/by-id/virtio-").append(serial).append(" /m/").append(v.getKey()).append('\n')
                    .append("treehash /m/").append(v.getKey()).append(' ').append(v.getKey()).append('\n');
        }
        Guest.Report r = g.script(script.toString()).boot().check();
        TreeHash.Manifest expected = TreeHash.ofNormalized(src);
        StringBuilder failures = new StringBuilder();
        for (String v : variants.keySet()) {
            try {
                TreeHash.assertSame(expected, TreeHash.fromGuest(r, v), "squashfs " + v + " mounted by Linux " + g.kernel().version());
                assertEquals(Set.of("0:0:" + MTIME), TreeHash.guestOwnersAndTimes(r, v), v + ": owner and mtime");
            } catch (AssertionError e) {
                failures.append(e.getMessage()).append('\n');
            }
        }
        if (failures.length() > 0) {
            String kernelErrors = r.console().lines().filter(l -> l.contains("squashfs") || l.contains("SQUASHFS") || l.contains("sha256sum"))
                    .collect(java.util.stream.Collectors.joining("\n"));
            throw new AssertionError(failures + "guest console (squashfs and sha256sum lines):\n" + kernelErrors);
        }
        System.out.println("SquashfsKernelMountTest: " + variants.size() + " images, " + expected.size() + " entries each, boot "
                + r.timing());
    }
}
