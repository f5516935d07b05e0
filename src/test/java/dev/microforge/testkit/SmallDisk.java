package dev.microforge.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A tiny tmpfs for disk-full tests: {@code try (SmallDisk d = SmallDisk.mount(dir, "1m")) { ... d.path() ... }}.
 * Mounting needs root: without it the test fails in strict mode and is skipped, saying why, elsewhere ({@link Tools#unavailable}).
 */
public final class SmallDisk implements AutoCloseable {
    private final Path mountPoint;

    private SmallDisk(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    public static SmallDisk mount(Path dir, String size) throws IOException, InterruptedException {
        Path mnt = Files.createDirectories(dir);
        Exec.Result m = Exec.run(List.of("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt.toString()), null, null, 30);
        if (m.exitCode() != 0) {
            String why = "cannot mount a " + size + " tmpfs at " + mnt + " (needs root): " + m.stderr().strip();
            throw Tools.unavailable(why);
        }
        return new SmallDisk(mnt);
    }

    public Path path() {
        return mountPoint;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        Exec.Result u = Exec.run(List.of("umount", mountPoint.toString()), null, null, 30);
        if (u.exitCode() != 0) {
            throw new IOException("umount " + mountPoint + ": " + u.stderr().strip());
        }
    }
}
