package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.vm.VmSpecReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What microvm-run does to volumes before the hypervisor starts (a fake qemu here): missing images created sparse at
 * their size and formatted with the host's mkfs (label given), raw ones left unformatted; smaller images grown with
 * their data kept, larger ones never shrunk; a block device (a loop device) never created, resized or formatted; a
 * missing image without autoCreate and a failing mkfs stop the start and leave nothing behind.
 */
@Tag("oracle")
class VolumeSetupTest {
    @TempDir
    Path tmp;

    Process run(String volumes) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("fakebin"));
        Path fake = bin.resolve("qemu-system-x86_64");
        Files.writeString(fake, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        byte[] spec = ("{\"name\":\"v\",\"kernel\":\"/k\",\"storeOnDisk\":false,\"socket\":null,\"volumes\":[" + volumes + "]}")
                .getBytes(StandardCharsets.UTF_8);
        Runner.write(Runner.generate(VmSpecReader.parse(spec, "vm.json", Events.NONE), spec,
                new Runner.Options(Accel.TCG, List.of()), Events.NONE), tmp.resolve("runner"));
        ProcessBuilder pb = new ProcessBuilder(tmp.resolve("runner/bin/microvm-run").toString()).directory(tmp.toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("log").toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return p;
    }

    static byte[] sha(Path p) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
    }

    static long allocated(Path p) throws Exception {
        return ((Number) Files.getAttribute(p, "unix:size")).longValue() > 0
                ? Long.parseLong(Exec.ok("stat", "-c", "%b", p.toString()).out().trim()) * 512 : 0;
    }

    @Test
    void createsGrowsNeverShrinksNeverTouchesBlockDevices() throws Exception {
        Tools.require("bash");
        Tools.require("mkfs.ext4");
        Tools.require("losetup");
        byte[] some = new byte[1 << 20];
        new Random(1).nextBytes(some);
        Files.write(tmp.resolve("small.img"), some);
        Files.write(tmp.resolve("big.img"), new byte[16 << 20]);
        byte[] bigSha = sha(tmp.resolve("big.img"));
        Path loopFile = tmp.resolve("loop.img");
        Files.write(loopFile, some);
        String dev = Exec.ok("losetup", "-f", "--show", loopFile.toString()).out().trim();
        try {
            byte[] devSha = sha(Path.of(dev));
            Process p = run("{\"image\":\"new.img\",\"size\":8,\"mountPoint\":\"/data\",\"fsType\":\"ext4\",\"label\":\"lbl\"},"
                    + "{\"image\":\"raw.img\",\"size\":2,\"mountPoint\":null},"
                    + "{\"image\":\"small.img\",\"size\":4,\"mountPoint\":null},"
                    + "{\"image\":\"big.img\",\"size\":8,\"mountPoint\":\"/big\"},"
                    + "{\"image\":\"" + dev + "\",\"size\":1,\"mountPoint\":\"/blk\",\"autoCreate\":true}");
            String log = Files.readString(tmp.resolve("log"));
            assertEquals(0, p.exitValue(), log);

            Path created = tmp.resolve("new.img");
            assertEquals(8L << 20, Files.size(created));
            assertTrue(allocated(created) < (8L << 20), "created sparse");
            try (RandomAccessFile f = new RandomAccessFile(created.toFile(), "r")) {
                f.seek(1024 + 0x38);
                assertEquals(0xEF53, Short.toUnsignedInt(Short.reverseBytes(f.readShort())), "formatted ext4");
                byte[] label = new byte[16];
                f.seek(1024 + 0x78);
                f.readFully(label);
                assertEquals("lbl", new String(label, StandardCharsets.US_ASCII).trim().replace("\0", ""));
            }
            Path raw = tmp.resolve("raw.img");
            assertEquals(2L << 20, Files.size(raw));
            assertArrayEquals(new byte[2 << 20], Files.readAllBytes(raw), "a raw volume is not formatted");
            assertEquals(4L << 20, Files.size(tmp.resolve("small.img")), "grown to size");
            byte[] head = new byte[1 << 20];
            System.arraycopy(Files.readAllBytes(tmp.resolve("small.img")), 0, head, 0, head.length);
            assertArrayEquals(some, head, "growing keeps the data");
            assertEquals(16L << 20, Files.size(tmp.resolve("big.img")), "never shrunk");
            assertArrayEquals(bigSha, sha(tmp.resolve("big.img")), "a large image is left alone (not formatted either)");
            assertArrayEquals(devSha, sha(Path.of(dev)), "the block device is untouched");
            assertEquals(1L << 20, Files.size(loopFile), "and not resized");
            assertTrue(log.contains("microvm-run: grew small.img from 1048576 to 4194304 bytes"), log);
        } finally {
            Exec.run(List.of("losetup", "-d", dev), null, null, 30);
        }
    }

    @Test
    void failuresStopTheStartAndLeaveNothing() throws Exception {
        Tools.require("bash");
        Process p = run("{\"image\":\"gone.img\",\"size\":1,\"autoCreate\":false,\"mountPoint\":null}");
        assertEquals(1, p.exitValue());
        assertTrue(Files.readString(tmp.resolve("log")).contains("microvm-run: volume image gone.img does not exist and autoCreate is false"));
        p = run("{\"image\":\"x.img\",\"size\":1,\"mountPoint\":\"/x\",\"fsType\":\"nosuchfs\"}");
        assertEquals(1, p.exitValue());
        assertTrue(Files.readString(tmp.resolve("log")).contains("microvm-run: mkfs.nosuchfs not found"));
        assertFalse(Files.exists(tmp.resolve("x.img")));
        assertFalse(Files.exists(tmp.resolve("x.img.microforge-new")));
        p = run("{\"image\":\"/dev/zvol/nope/nope\",\"mountPoint\":null}");
        assertEquals(1, p.exitValue());
        assertTrue(Files.readString(tmp.resolve("log")).contains("block device /dev/zvol/nope/nope does not exist (block devices are never created)"));
        assertFalse(Files.exists(Path.of("/dev/zvol/nope/nope")));
    }
}
