package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight's store disk type check (issue 14, item 4) catches a real failure: a runner whose spec says
 * {@code storeDisk.type: squashfs} for an EROFS image (built by microforge from the example closure), started with
 * --no-preflight, boots a guest (qemu TCG, the Debian kernel) that mounts the store disk with the declared type, as the
 * guest module does: the mount fails (EINVAL: no SquashFS superblock), while the same disk mounts as
 * EROFS and runs a program from the store (so the image itself is fine). Started with its preflight, microvm-run stops
 * before qemu with the finding.
 */
@Tag("oracle")
class PreflightStoreDiskTypeBootTest {
    @TempDir
    Path tmp;

    @Test
    void erofsImageDeclaredSquashfsFailsInTheGuestAndPreflightRefusesIt() throws Exception {
        Tools.require("qemu-system-x86_64");
        Kernel kernel = Kernel.requireWith("virtio_blk", "squashfs", "erofs");
        StoreDisks.build("erofs", tmp.resolve("store.img"));
        String message = Files.readString(Tools.projectRoot().resolve(StoreDisks.MESSAGE)).trim();
        // the type to mount with comes from the kernel command line, which the test sets from the spec's type
        Files.write(tmp.resolve("initrd.img"), RunnerBoot.initramfs(kernel, List.of("crc32c_generic", "virtio_pci", "virtio_blk", "squashfs", "erofs"), """
                declared=$(sed -n 's/.*mf.store=\\([a-z]*\\).*/\\1/p' /proc/cmdline)
                d=$(dev_of nix-store) || echo "@@FAIL no disk with serial nix-store"
                mkdir -p /nix/store
                if mount -t "$declared" -o ro "$d" /nix/store 2>/tmp/err; then echo "@@MOUNT $declared ok"; umount /nix/store
                else echo "@@MOUNT $declared failed: $(cat /tmp/err)"; fi
                if mount -t erofs -o ro "$d" /nix/store; then echo "@@MOUNT erofs ok"; echo "@@HELLO $(HELLO)"; umount /nix/store; fi
                """.replace("HELLO)", StoreDisks.HELLO + ")"), true));

        ObjectNode spec = RunnerBoot.JSON.createObjectNode();
        spec.put("name", "sdtype");
        spec.put("mem", 256);
        spec.put("kernel", kernel.vmlinuz().toString());
        spec.put("initrd", "initrd.img");
        spec.putNull("socket");
        spec.putObject("storeDisk").put("image", "store.img").put("type", "squashfs");
        spec.putArray("kernelParams").add("quiet").add("rdinit=/init").add("mf.store=squashfs");
        Path runner = RunnerBoot.generate(tmp, spec);

        RunnerBoot.Vm bare = RunnerBoot.start(List.of(), runner, tmp, "bare.log", "--no-preflight").await(120);
        String console = bare.console();
        System.out.printf("boot with --no-preflight: %.1f s%n", bare.seconds());
        assertFalse(bare.killed, "the guest did not power off within 120 s:\n" + console);
        assertEquals(0, bare.exitCode(), console);
        assertTrue(console.contains("@@DONE"), console);
        List<String> mounts = RunnerBoot.marks(console, "MOUNT");
        assertTrue(mounts.size() == 2 && mounts.get(0).matches("squashfs failed: .*Invalid argument") && mounts.get(1).equals("erofs ok"),
                "mount as the declared squashfs fails, as erofs works: " + mounts + "\n" + console);
        assertEquals(List.of(message), RunnerBoot.marks(console, "HELLO"), "a program from the store disk, mounted as EROFS");

        RunnerBoot.Vm checked = RunnerBoot.start(List.of(), runner, tmp, "checked.log").await(120);
        String err = checked.console();
        assertFalse(checked.killed, err);
        assertEquals(1, checked.exitCode(), err);
        assertTrue(err.contains("preflight: error: storeDisk.image store.img: is an EROFS image but storeDisk.type is squashfs:"
                + " the guest would mount it as squashfs and fail; fix: set storeDisk.type to erofs"), err);
        assertTrue(err.contains("microvm-run: preflight failed"), err);
        assertFalse(err.contains("@@BOOTED") || err.lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + err);
    }
}
