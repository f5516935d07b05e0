package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness' other devices in one boot: a virtiofs share served by the real virtiofsd, a writable disk, user
 * networking with a forwarded port that the host connects to.
 */
@Tag("oracle")
class GuestDevicesTest {
    @TempDir
    Path tmp;

    @Test
    void virtiofsWritableDiskAndForwardedPortInOneBoot() throws Exception {
        Path share = TestTrees.rich(tmp.resolve("share"), 20);
        Path rw = tmp.resolve("rw.img");
        Files.write(rw, new byte[1 << 20]);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        AtomicBoolean stop = new AtomicBoolean();
        int hostPort = port;
        CompletableFuture<String> fromGuest = CompletableFuture.supplyAsync(() -> {
            while (!stop.get()) {
                try (Socket c = new Socket()) {
                    c.connect(new InetSocketAddress("127.0.0.1", hostPort), 1000);
                    c.setSoTimeout(5000);
                    InputStream in = c.getInputStream();
                    String got = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                    if (!got.isEmpty()) {
                        return got;
                    }
                } catch (IOException e) {
                    // guest not listening yet (slirp accepts, then resets)
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return "";
                }
            }
            return "";
        });
        Guest.Report r;
        try (Virtiofsd vfs = Virtiofsd.start(share, tmp.resolve("vfs.sock"))) {
            r = Guest.builder()
                    .virtiofs(vfs.socket(), "share0")
                    .disk(rw, "scratch", false)
                    .userNet("tcp:127.0.0.1:" + port + "-:8080")
                    .script("mkdir -p /m/share\n"
                            + "mount -t virtiofs share0 /m/share\n"
                            + "treehash /m/share share\n"
                            + "echo written-by-guest | dd of=/dev/disk/by-id/virtio-scratch conv=notrunc 2>/dev/null\n"
                            + "ip -4 addr show eth0 | grep -o 'inet [0-9./]*'\n"
                            + "echo hello-from-guest | timeout 60 nc -l -p 8080\n"
                            + "echo served\n")
                    .boot();
        } finally {
            stop.set(true);
        }
        r.check();
        TreeHash.assertSame(TreeHash.of(share), TreeHash.fromGuest(r, "share"), "virtiofs share");
        assertTrue(r.lines().contains("inet 10.0.2.15/24"), r.diagnostics());
        assertEquals("served", r.lines().get(r.lines().size() - 1));
        assertEquals("hello-from-guest\n", fromGuest.get());
        byte[] head = new byte[17];
        try (InputStream in = Files.newInputStream(rw)) {
            assertEquals(17, in.readNBytes(head, 0, 17));
        }
        assertEquals("written-by-guest\n", new String(head, StandardCharsets.US_ASCII));
        System.out.println("GuestDevicesTest boot: " + r.timing());
    }

    /** A 9p share on the generic Debian 6.1 kernel (linux-image-amd64; the cloud one has no 9p). */
    @Test
    void ninePShareOnAKernelThatHasIt() throws Exception {
        Kernel k = Kernel.requireWith("9p", "9pnet_virtio");
        Path share = TestTrees.rich(tmp.resolve("p9"), 20);
        Guest.Report r = Guest.builder(k)
                .share9p(share, "p9", true)
                .script("mkdir -p /m/p9\nmount -t 9p -o trans=virtio,version=9p2000.L,ro p9 /m/p9\ntreehash /m/p9 p9\n")
                .boot()
                .check();
        TreeHash.assertSame(TreeHash.of(share), TreeHash.fromGuest(r, "p9"), "9p share on " + k.version());
        System.out.println("GuestDevicesTest 9p boot (" + k.version() + "): " + r.timing());
    }

    /** Debian's cloud kernel has no 9p: the harness says so instead of booting a guest that cannot mount it. */
    @Test
    void ninePIsRefusedClearlyWhenTheKernelLacksIt() {
        Guest.Builder b = Guest.builder();
        if (b.kernel().has("9p")) {
            throw Tools.unavailable("kernel " + b.kernel().version() + " has 9p: nothing to refuse (the test needs the cloud kernel)");
        }
        assertFalse(b.kernel().has("9pnet_virtio"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.share9p(tmp, "p9", true));
        assertTrue(e.getMessage().contains("CONFIG_NET_9P"), e.getMessage());
    }
}
