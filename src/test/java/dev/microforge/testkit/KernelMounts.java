package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The body the SquashFS and EROFS kernel mount tests share: every image on its own disk of ONE QEMU TCG boot,
 * mounted read-only with {@code mount -t TYPE}, hashed by the guest; each manifest must equal the host's
 * (modes normalized as the reproducibility rules say) and every inode must be 0:0 with the image's mtime.
 * All variants are checked before failing; the failure lists each differing variant plus the guest console's
 * lines about the filesystem (the kernel's own error messages).
 */
public final class KernelMounts {
    private KernelMounts() {}

    /**
     * Boots the 6.1 kernel once with {@code images} (variant name to image file, names usable as paths) and
     * compares each mounted tree with {@code src}. Returns the report (for timings).
     */
    public static Guest.Report mountAndCompare(String fsType, Path src, Map<String, Path> images, long mtime)
            throws IOException, InterruptedException {
        return mountAndCompare(Kernel.require(), fsType, src, images, mtime);
    }

    /** As {@link #mountAndCompare(String, Path, Map, long)}, booting {@code kernel}. */
    public static Guest.Report mountAndCompare(Kernel kernel, String fsType, Path src, Map<String, Path> images, long mtime)
            throws IOException, InterruptedException {
        Guest.Builder g = Guest.builder(kernel).modules(fsType);
        StringBuilder script = new StringBuilder();
        int disk = 0;
        for (Map.Entry<String, Path> v : images.entrySet()) {
            String name = v.getKey();
            String serial = fsType + "-" + disk++; // serials are at most 20 characters; names may be longer
            g.disk(v.getValue(), serial);
            script.append("mkdir -p /m/").append(name).append('\n')
                    .append("mount -t ").append(fsType).append(" -o ro /dev/disk/by-id/virtio-").append(serial).append(" /m/").append(name).append('\n')
                    .append("treehash /m/").append(name).append(' ').append(name).append('\n');
        }
        Guest.Report r = g.script(script.toString()).boot().check();
        TreeHash.Manifest expected = TreeHash.ofNormalized(src);
        StringBuilder failures = new StringBuilder();
        for (String v : images.keySet()) {
            try {
                TreeHash.assertSame(expected, TreeHash.fromGuest(r, v), fsType + " " + v + " mounted by Linux " + g.kernel().version());
                assertEquals(Set.of("0:0:" + mtime), TreeHash.guestOwnersAndTimes(r, v), v + ": owner and mtime");
            } catch (AssertionError e) {
                failures.append(e.getMessage()).append('\n');
            }
        }
        if (failures.length() > 0) {
            String lower = fsType.toLowerCase(Locale.ROOT);
            String kernelErrors = r.console().lines()
                    .filter(l -> l.toLowerCase(Locale.ROOT).contains(lower) || l.contains("sha256sum"))
                    .collect(Collectors.joining("\n"));
            throw new AssertionError(failures + "guest console (" + fsType + " and sha256sum lines):\n" + kernelErrors);
        }
        System.out.println(fsType + " mounted by Linux " + kernel.version() + ": " + images.size() + " images " + images.keySet() + ", " + expected.size()
                + " entries each, boot " + r.timing());
        return r;
    }
}
