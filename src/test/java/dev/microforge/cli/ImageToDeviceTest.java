package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.JarCli;
import dev.microforge.testkit.Root;
import dev.microforge.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code image build --to-device}: onto loop devices (losetup, root). The device reached through a symlink (as
 * /dev/zvol/POOL/VOL) gets exactly the bytes {@code -o} writes and nothing beyond them; a regular file, a mounted
 * device and a device too small are refused with exit 2 and the device's bytes unchanged.
 */
@Tag("root")
class ImageToDeviceTest {
    @TempDir
    Path tmp;

    final List<String> loops = new ArrayList<>();

    String loop(Path backing) throws Exception {
        Process p = new ProcessBuilder("losetup", "-f", "--show", backing.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), "losetup: " + out);
        loops.add(out);
        return out;
    }

    @AfterEach
    void detach() throws Exception {
        for (String l : loops) {
            Root.run("losetup", "-d", l);
        }
    }

    @Test
    void writesOnlyWholeImagesToUnusedDevicesThatFit() throws Exception {
        Root.require("losetup");
        Tools.require("losetup");
        Path ex = Tools.projectRoot().resolve("tests/example");
        List<String> build = List.of("image", "build", "--type", "squashfs", "--closure", ex.resolve("closure.json").toString(),
                "--real-store", ex.resolve("store").toString());
        Path img = tmp.resolve("ref.img");
        assertEquals(0, run(build, "-o", img.toString()).exitCode());
        byte[] ref = Files.readAllBytes(img);

        byte[] pattern = new byte[1 << 20];
        Arrays.fill(pattern, (byte) 0xa5);
        Path backing = tmp.resolve("disk.raw");
        Files.write(backing, pattern);
        Path dev = Path.of(loop(backing));
        Path zvol = Files.createDirectories(tmp.resolve("zvol/pool")).resolve("vol");
        Files.createSymbolicLink(zvol, dev);

        Cli.Result r = run(build, "--to-device", zvol.toString());
        assertEquals(0, r.exitCode(), r.err());
        byte[] now = Files.readAllBytes(backing);
        assertArrayEquals(ref, Arrays.copyOf(now, ref.length), "the device holds the image -o writes");
        assertArrayEquals(Arrays.copyOfRange(pattern, ref.length, pattern.length), Arrays.copyOfRange(now, ref.length, now.length),
                "nothing beyond the image is touched");

        r = run(build, "--to-device", img.toString());
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + img + ": is a regular file, not a block device (--to-device writes only to a block"
                + " device; -o writes a file)\n", r.err());

        Path small = tmp.resolve("small.raw");
        Files.write(small, Arrays.copyOf(pattern, 2048));
        String smallDev = loop(small);
        r = run(build, "--to-device", smallDev);
        assertEquals(2, r.exitCode());
        assertEquals("microforge: " + smallDev + ": the image is " + ref.length + " bytes, the device holds only 2048;"
                + " nothing written\n", r.err());
        assertArrayEquals(Arrays.copyOf(pattern, 2048), Files.readAllBytes(small));

        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Root.run("mount", "-t", "squashfs", "-o", "ro", dev.toString(), mnt.toString());
        try {
            r = run(build, "--to-device", zvol.toString());
            assertEquals(2, r.exitCode());
            assertEquals("microforge: " + zvol + ": is mounted (at " + mnt + "); refusing to write to it\n", r.err());
        } finally {
            Root.run("umount", mnt.toString());
        }
        assertArrayEquals(now, Files.readAllBytes(backing), "the mounted device was not written");

        r = run(build);
        assertEquals(2, r.exitCode());
        assertEquals("microforge: give exactly one of -o OUT and --to-device DEV (see 'microforge image build --help')\n", r.err().lines().findFirst().orElse("") + "\n");
    }

    /**
     * A btrfs file system shows an anonymous device number (0:NN) in mountinfo, not the loop device's: the mount is
     * found by its source. (Partitions of a loop device would be the other case; this kernel has no partition table
     * support, so the source match is what is tested.)
     */
    @Test
    void refusesADeviceMountedUnderAnAnonymousDeviceNumber() throws Exception {
        Root.require("losetup, mount");
        Tools.require("losetup");
        Tools.require("mkfs.btrfs");
        Path backing = tmp.resolve("btrfs.raw");
        try (var f = java.nio.channels.FileChannel.open(backing, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.write(java.nio.ByteBuffer.wrap(new byte[1]), (128L << 20) - 1);
        }
        String dev = loop(backing);
        Root.run("mkfs.btrfs", "-q", dev);
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Root.run("mount", "-t", "btrfs", dev, mnt.toString());
        String mountinfo;
        try {
            mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
            byte[] before = Files.readAllBytes(backing);
            Cli.Result r = run(exampleBuild(), "--to-device", dev);
            assertEquals(2, r.exitCode(), r.err());
            assertEquals("microforge: " + dev + ": is mounted (at " + mnt + "); refusing to write to it\n", r.err());
            // btrfs leaves the first 64 KiB alone (its superblock, which it updates itself, is at 64 KiB)
            assertArrayEquals(Arrays.copyOf(before, 1 << 16), Arrays.copyOf(Files.readAllBytes(backing), 1 << 16),
                    "the mounted device was not written");
        } finally {
            Root.run("umount", mnt.toString());
        }
        String line = mountinfo.lines().filter(l -> l.contains(" " + mnt + " ")).findFirst().orElseThrow();
        assertEquals("0", line.split(" ")[2].split(":")[0], "btrfs shows an anonymous device number: " + line);
    }

    /** A device that is active swap is refused; after swapoff it is written. */
    @Test
    void refusesActiveSwap() throws Exception {
        Root.require("losetup, swapon");
        Tools.require("losetup");
        Tools.require("mkswap");
        Tools.require("swapon");
        Path backing = tmp.resolve("swap.raw");
        Files.write(backing, new byte[4 << 20]);
        String dev = loop(backing);
        Root.run("mkswap", dev);
        Root.run("swapon", dev);
        Cli.Result r;
        byte[] before;
        try {
            before = Files.readAllBytes(backing);
            r = run(exampleBuild(), "--to-device", dev);
        } finally {
            Root.run("swapoff", dev);
        }
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("microforge: " + dev + ": is in use as swap (" + dev + "); refusing to write to it\n", r.err());
        assertArrayEquals(before, Files.readAllBytes(backing), "the swap device was not written");
        r = run(exampleBuild(), "--to-device", dev);
        assertEquals(0, r.exitCode(), r.err());
    }

    /**
     * The image is built first in --temp-dir, else $TMPDIR (which the JVM's java.io.tmpdir ignores): a directory with
     * less free space than the device is refused before anything is built, and nothing is left in the one used.
     */
    @Test
    void buildsInTempDirOrTmpdirWithRoomForTheDevice() throws Exception {
        Root.require("losetup, mount");
        Tools.require("losetup");
        Path backing = tmp.resolve("disk.raw");
        Files.write(backing, new byte[4 << 20]);
        String dev = loop(backing);
        Path small = Files.createDirectories(tmp.resolve("small"));
        Root.run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString());
        try {
            long free = Files.getFileStore(small).getUsableSpace();
            String why = ": only " + free + " bytes free, the image for " + dev + " may need up to its " + (4 << 20)
                    + " bytes (it is built there first; give --temp-dir DIR with room); nothing written\n";
            Cli.Result r = run(exampleBuild(), "--to-device", dev, "--temp-dir", small.toString());
            assertEquals(2, r.exitCode(), r.err());
            assertEquals("microforge: --temp-dir " + small + why, r.err());

            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.addAll(JarCli.launch());
            cmd.addAll(exampleBuild());
            cmd.addAll(List.of("--to-device", dev));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("TMPDIR", small.toString());
            Process p = pb.start();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(2, p.waitFor(), err);
            assertEquals("microforge: TMPDIR " + small + why, err);
            assertArrayEquals(new byte[4 << 20], Files.readAllBytes(backing), "nothing written");
        } finally {
            Root.run("umount", small.toString());
        }
        Path roomy = Files.createDirectories(tmp.resolve("roomy"));
        Cli.Result r = run(exampleBuild(), "--to-device", dev, "--temp-dir", roomy.toString());
        assertEquals(0, r.exitCode(), r.err());
        try (var l = Files.list(roomy)) {
            assertEquals(List.of(), l.toList(), "nothing left in the temp dir");
        }
        r = run(exampleBuild(), "-o", tmp.resolve("x.img").toString(), "--temp-dir", roomy.toString());
        assertEquals(2, r.exitCode(), r.err());
    }

    static List<String> exampleBuild() {
        Path ex = Tools.projectRoot().resolve("tests/example");
        return List.of("image", "build", "--type", "squashfs", "--closure", ex.resolve("closure.json").toString(),
                "--real-store", ex.resolve("store").toString());
    }

    static Cli.Result run(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(more));
        return Cli.run(a.toArray(String[]::new));
    }
}
