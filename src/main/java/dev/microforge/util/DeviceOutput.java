package dev.microforge.util;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * {@code --to-device DEV}: an image written onto a block device (symbolic links such as /dev/zvol/pool/vol or
 * /dev/disk/by-id/... are followed to it). Refused (exit 2, nothing written) when DEV is not a block device, when it
 * or one of its partitions is mounted, when something holds it (device mapper, md, LVM), or when the image does not
 * fit. The image is built completely elsewhere first, so the device is written only with a whole image that fits.
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
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserError(dev + ": no such device");
        }
        String kind = AtomicOutput.kindOf(real);
        if (!"a block device".equals(kind)) {
            throw new UserError(dev + ": is " + kind + ", not a block device (--to-device writes only to a block device;"
                    + " -o writes a file)");
        }
        String id = majorMinor((Long) Files.getAttribute(real, "unix:rdev"));
        Path sys = Path.of("/sys/dev/block", id);
        Path sysReal = sys.toRealPath();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                Path other = Path.of("/sys/dev/block", f[2]);
                if (f[2].equals(id) || Files.exists(other) && other.toRealPath().startsWith(sysReal)) {
                    throw new UserError(dev + ": is mounted (" + (f[2].equals(id) ? "at " : "a partition of it, at ")
                            + unescape(f[4]) + "); refusing to write to it");
                }
            }
        }
        Path holders = sys.resolve("holders");
        if (Files.isDirectory(holders)) {
            try (var s = Files.list(holders)) {
                List<String> h = s.map(p -> p.getFileName().toString()).sorted().toList();
                if (!h.isEmpty()) {
                    throw new UserError(dev + ": is in use by " + String.join(", ", h) + "; refusing to write to it");
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

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException e) {
                    // not an escape
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
