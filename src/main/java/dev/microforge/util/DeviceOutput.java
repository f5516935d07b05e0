package dev.microforge.util;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --to-device DEV}: an image written onto a block device (symbolic links such as /dev/zvol/pool/vol or
 * /dev/disk/by-id/... are followed to it). Refused (exit 2, nothing written) when DEV is not a block device, when it
 * or one of its partitions is mounted (matched by the mount's device number, and by its source for file systems such as
 * btrfs whose device number is an anonymous 0:NN), when something holds it or one of its partitions (device mapper, md,
 * LVM, dm-crypt), when it or one of its partitions is active swap, or when the image does not fit. The image is built completely elsewhere first, so the device is written only with a whole image that fits.
 */
public final class DeviceOutput {
    private DeviceOutput() {}

    /** The block device's size in bytes after the checks above (all but the fit). */
    public static long check(Path dev) throws IOException {
        if (dev.toString().isEmpty()) {
            throw new UserError("--to-device: the device path must not be empty");
        }
        Path real;
        try {
            real = dev.toRealPath();
        } catch (NoSuchFileException e) {
            throw new UserError(dev + ": no such device");
        }
        String kind = AtomicOutput.kindOf(real);
        if (!"a block device".equals(kind)) {
            throw new UserError(dev + ": is " + kind + ", not a block device (--to-device writes only to a block device;"
                    + " -o writes a file)");
        }
        String id = majorMinor((Long) Files.getAttribute(real, "unix:rdev"));
        Path sys = Path.of("/sys/dev/block", id).toRealPath();
        // major:minor of the device and of each of its partitions -> the partition's name (null: the device itself)
        Map<String, String> ids = new LinkedHashMap<>();
        ids.put(id, null);
        try (var s = Files.list(sys)) {
            for (Path p : s.sorted().toList()) {
                if (Files.isRegularFile(p.resolve("partition")) && Files.isRegularFile(p.resolve("dev"))) {
                    ids.put(Files.readString(p.resolve("dev")).trim(), p.getFileName().toString());
                }
            }
        }
        for (Mounts.Mount m : Mounts.read(Path.of("/proc/self/mountinfo"))) {
            String hit = m.major() + ":" + m.minor();
            if (!ids.containsKey(hit)) {
                hit = m.source() != null && m.source().startsWith("/") ? blockId(Path.of(m.source())) : null;
            }
            if (hit != null && ids.containsKey(hit)) {
                String part = ids.get(hit);
                throw new UserError(dev + ": is mounted (" + (part == null ? "" : "its partition " + RawNames.display(part) + " ")
                        + "at " + RawNames.display(m.mountPoint()) + "); refusing to write to it");
            }
        }
        for (Map.Entry<String, String> e : ids.entrySet()) {
            Path holders = Path.of("/sys/dev/block", e.getKey(), "holders");
            if (Files.isDirectory(holders)) {
                try (var s = Files.list(holders)) {
                    List<String> h = s.map(p -> RawNames.display(p.getFileName().toString())).sorted().toList();
                    if (!h.isEmpty()) {
                        throw new UserError(dev + ": is in use by " + String.join(", ", h)
                                + (e.getValue() == null ? "" : " (on its partition " + RawNames.display(e.getValue()) + ")")
                                + "; refusing to write to it");
                    }
                }
            }
        }
        Path swaps = Path.of("/proc/swaps");
        if (Files.isReadable(swaps)) {
            List<String> lines = Files.readAllLines(swaps, StandardCharsets.UTF_8);
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                String name = Mounts.unescape(f[0]);
                String hit = name.startsWith("/") ? blockId(Path.of(name)) : null;
                if (hit != null && ids.containsKey(hit)) {
                    String part = ids.get(hit);
                    throw new UserError(dev + ": is in use as swap (" + (part == null ? "" : "its partition ")
                            + RawNames.display(name) + "); refusing to write to it");
                }
            }
        }
        return Long.parseLong(Files.readString(sys.resolve("size")).trim()) * 512;
    }

    /** Copies the finished image {@code image} onto {@code dev} (checked again) and flushes it to the device. */
    public static void copy(Path image, Path dev) throws IOException {
        long size = check(dev);
        long len = Files.size(image);
        if (len > size) {
            throw new UserError(dev + ": the image is " + len + " bytes, the device holds only " + size + "; nothing written");
        }
        try (FileChannel in = FileChannel.open(image, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(dev.toRealPath(), StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < len) {
                done += in.transferTo(done, len - done, out.position(done));
            }
            out.force(true);
        } catch (IOException e) {
            throw new IOException(dev + ": cannot write image: " + AtomicOutput.reason(e), e);
        }
    }

    /** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
    static String majorMinor(long rdev) {
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        return major + ":" + minor;
    }

    /** major:minor of the block device {@code p} leads to, or null when it is not one (or is gone). */
    private static String blockId(Path p) {
        try {
            Path r = p.toRealPath();
            return "a block device".equals(AtomicOutput.kindOf(r)) ? majorMinor((Long) Files.getAttribute(r, "unix:rdev")) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
