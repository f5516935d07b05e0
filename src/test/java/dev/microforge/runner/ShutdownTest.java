package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * microforge shutdown against stand-in hypervisor sockets (real unix sockets): the requests cloud-hypervisor's and
 * firecracker's APIs document, the wait until the API stops answering, the bounded wait when it never does, and a
 * VM that is not running. qemu's QMP side is proven against real qemu in QemuShutdownBootTest.
 */
class ShutdownTest {
    @TempDir
    Path tmp;

    /** An HTTP stand-in: records each request's first line, answers 204, and goes away after {@code answers}. */
    static final class FakeApi implements AutoCloseable {
        final ServerSocketChannel server;
        final List<String> requests = new CopyOnWriteArrayList<>();
        final Thread thread;

        FakeApi(Path socket, int answers) throws IOException {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            thread = new Thread(() -> {
                try {
                    for (int i = 0; i < answers; i++) {
                        try (SocketChannel c = server.accept()) {
                            ByteBuffer b = ByteBuffer.allocate(4096);
                            StringBuilder sb = new StringBuilder();
                            while (sb.indexOf("\r\n\r\n") < 0 && c.read(b) > 0) {
                                b.flip();
                                sb.append(StandardCharsets.UTF_8.decode(b));
                                b.clear();
                            }
                            requests.add(sb.substring(0, sb.indexOf("\r\n")));
                            c.write(ByteBuffer.wrap("HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                        }
                    }
                    server.close();
                    Files.deleteIfExists(socket);
                } catch (IOException e) {
                    // closed by the test
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void cloudHypervisorPowerButtonThenWaitsUntilTheApiIsGone() throws Exception {
        Path sock = tmp.resolve("ch.sock");
        try (FakeApi api = new FakeApi(sock, 3)) {
            Cli.Result r = Cli.run("shutdown", "--hypervisor", "cloud-hypervisor", "--socket", sock.toString(), "--timeout", "20");
            assertEquals(0, r.exitCode(), r.err());
            assertEquals(List.of("PUT /api/v1/vm.power-button HTTP/1.1", "GET /api/v1/vmm.ping HTTP/1.1", "GET /api/v1/vmm.ping HTTP/1.1"),
                    api.requests, "the power button, then pings until the API no longer answers");
            assertTrue(r.err().endsWith("cloud-hypervisor exited\n"), r.err());
        }
    }

    @Test
    void firecrackerSendCtrlAltDel() throws Exception {
        Path sock = tmp.resolve("fc.sock");
        try (FakeApi api = new FakeApi(sock, 1)) {
            Cli.Result r = Cli.run("shutdown", "--hypervisor", "firecracker", "--socket", sock.toString(), "--timeout", "20");
            assertEquals(0, r.exitCode(), r.err());
            assertEquals(List.of("PUT /actions HTTP/1.1"), api.requests);
        }
    }

    @Test
    void aHypervisorThatDoesNotExitIsBoundedByTheTimeout() throws Exception {
        Path sock = tmp.resolve("stuck.sock");
        try (FakeApi api = new FakeApi(sock, 1_000_000)) {
            long t0 = System.nanoTime();
            Cli.Result r = Cli.run("shutdown", "--hypervisor", "cloud-hypervisor", "--socket", sock.toString(), "--timeout", "2");
            double secs = (System.nanoTime() - t0) / 1e9;
            assertEquals(1, r.exitCode(), r.err());
            assertTrue(secs < 10, "bounded: " + secs + " s");
            assertTrue(r.err().contains(": cloud-hypervisor did not exit within 2 s after the power-off request"), r.err());
        }
    }

    @Test
    void notRunningIsNotAnError() throws Exception {
        Cli.Result r = Cli.run("shutdown", "--hypervisor", "qemu", "--socket", tmp.resolve("none.sock").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("the VM is not running"), r.err());
        r = Cli.run("shutdown", "--hypervisor", "kvmtool", "--socket", tmp.resolve("none.sock").toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("microforge: --hypervisor: microforge shutdown speaks to qemu, cloud-hypervisor, firecracker and crosvm, not kvmtool\n", r.err());
    }

    /** A socket file nobody listens on (the hypervisor died): not running, decided by the exception's type. */
    @Test
    void aStaleSocketIsNotRunning() throws Exception {
        Path sock = tmp.resolve("stale.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock));
        }
        assertTrue(Files.exists(sock));
        Cli.Result r = Cli.run("shutdown", "--hypervisor", "qemu", "--socket", sock.toString(), "--timeout", "5");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("the VM is not running"), r.err());
        // the decision does not read the (locale-dependent) message
        assertTrue(Shutdown.nobodyListens(sock, new java.net.ConnectException("Verbindungsaufbau abgelehnt")));
        assertFalse(Shutdown.nobodyListens(sock, new java.net.SocketException("Keine Berechtigung")));
        assertTrue(Shutdown.nobodyListens(tmp.resolve("none.sock"), new java.net.SocketException("Datei nicht gefunden")));
    }

    /** A peer that never reads: the write waits for the socket to drain, bounded by the deadline, without spinning. */
    @Test
    void aWriteToAPeerThatNeverReadsIsBounded() throws Exception {
        Path sock = tmp.resolve("deaf.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock));
            try (Shutdown.Conn c = Shutdown.Conn.open(sock); SocketChannel peer = s.accept()) {
                String big = "x".repeat(16 << 20);
                long cpu0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                assertThrows(Shutdown.Timeout.class, () -> c.write(big, System.nanoTime() + 1_500_000_000L));
                double secs = (System.nanoTime() - t0) / 1e9;
                double cpu = (java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0) / 1e9;
                assertTrue(secs >= 1.0 && secs < 10, "bounded by the deadline: " + secs + " s");
                assertTrue(cpu < 0.5 * secs, "waits instead of spinning: " + cpu + " s CPU in " + secs + " s");
            }
        }
    }

    /**
     * A stand-in crosvm: records its argv, and for powerbtn removes the control socket after {@code delay} seconds
     * in the background (crosvm unlinks it when it exits), as a guest taking its time to shut down.
     */
    static Path fakeCrosvm(Path dir, String delay, int exit) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("fakebin"));
        Path fake = bin.resolve("crosvm");
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"" + dir.resolve("argv") + "\"\n"
                + "[ \"$1\" = powerbtn ] || exit 2\n"
                + "( sleep " + delay + "; rm -f -- \"$2\" ) </dev/null >/dev/null 2>&1 &\n"
                + (exit == 0 ? "" : "echo 'failed to send command' >&2\n") + "exit " + exit + "\n");
        Files.setPosixFilePermissions(fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return fake;
    }

    static List<String> argv(Path dir) throws IOException {
        String all = Files.readString(dir.resolve("argv"));
        return List.of(all.substring(0, all.length() - 1).split("\0", -1));
    }

    @Test
    void crosvmPowerButtonThenWaitsUntilTheSocketIsGone() throws Exception {
        Path fake = fakeCrosvm(tmp, "1.5", 0);
        Path sock = tmp.resolve("crosvm.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock));
            long t0 = System.nanoTime();
            Cli.Result r = Cli.run("shutdown", "--hypervisor", "crosvm", "--socket", sock.toString(), "--timeout", "20",
                    "--crosvm", fake.toString());
            double secs = (System.nanoTime() - t0) / 1e9;
            assertEquals(0, r.exitCode(), r.err());
            assertEquals(List.of("powerbtn", sock.toString()), argv(tmp));
            assertFalse(Files.exists(sock), "returned only after crosvm went away");
            assertTrue(secs >= 1.4, "waited for the socket to go: " + secs + " s");
            assertTrue(r.err().endsWith("crosvm exited\n"), r.err());
        }
    }

    @Test
    void crosvmThatDoesNotExitIsBoundedAndAFailedPowerbtnIsReported() throws Exception {
        Path sock = tmp.resolve("crosvm.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock));
            Path fake = fakeCrosvm(tmp, "30", 0); // gone by itself in 30 s: no process outlives the test run for long
            Files.writeString(fake, Files.readString(fake).replace("rm -f", "true"));
            long t0 = System.nanoTime();
            Cli.Result r = Cli.run("shutdown", "--hypervisor", "crosvm", "--socket", sock.toString(), "--timeout", "2",
                    "--crosvm", fake.toString());
            double secs = (System.nanoTime() - t0) / 1e9;
            assertEquals(1, r.exitCode(), r.err());
            assertTrue(secs >= 1.9 && secs < 10, "bounded: " + secs + " s");
            assertTrue(r.err().contains(": crosvm did not exit within 2 s after the power-off request"), r.err());

            Path failing = fakeCrosvm(tmp.resolve("f"), "30", 1);
            r = Cli.run("shutdown", "--hypervisor", "crosvm", "--socket", sock.toString(), "--timeout", "5", "--crosvm", failing.toString());
            assertEquals(1, r.exitCode(), r.err());
            assertTrue(r.err().contains(failing + " powerbtn failed (exit 1): failed to send command"), r.err());
        }
        Cli.Result r = Cli.run("shutdown", "--hypervisor", "crosvm", "--socket", sock.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("the VM is not running"), r.err());
    }

    /**
     * The generated microvm-shutdown of a crosvm runner: microforge shutdown (as java -cp ... Main), crosvm found in
     * PATH, a socket named like an option, standard input closed; it returns only after the socket is gone.
     */
    @Test
    void crosvmThroughMicrovmShutdown() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("w"));
        fakeCrosvm(tmp, "1", 0);
        com.fasterxml.jackson.databind.node.ObjectNode spec = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        spec.put("name", "cv").put("hypervisor", "crosvm").put("kernel", "/k").put("storeOnDisk", false).put("socket", "--help.sock");
        byte[] bytes = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(spec);
        dev.microforge.vm.VmSpec vm = dev.microforge.vm.VmSpecReader.parse(bytes, "vm.json", dev.microforge.util.Events.NONE);
        List<String> microforge = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), dev.microforge.cli.Main.class.getName());
        Path runner = tmp.resolve("runner");
        Runner.write(Runner.generate(vm, bytes, new Runner.Options(Accel.KVM, microforge), dev.microforge.util.Events.NONE), runner);
        Path sock = work.resolve("--help.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock));
            ProcessBuilder pb = new ProcessBuilder(runner.resolve("bin/microvm-shutdown").toString()).directory(work.toFile())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("log").toFile());
            pb.environment().put("PATH", tmp.resolve("fakebin") + ":" + System.getenv("PATH"));
            Process p = pb.start();
            p.getOutputStream().close();
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "microvm-shutdown hangs");
            String log = Files.readString(tmp.resolve("log"));
            assertEquals(0, p.exitValue(), log);
            assertEquals(List.of("powerbtn", "./--help.sock"), argv(tmp), "the socket never reads as an option");
            assertFalse(Files.exists(sock), "returned after crosvm went away: " + log);
            assertTrue(log.contains("crosvm exited"), log);
        }
    }

    /** A stand-in that answers every connection with {@code reply} (raw bytes) and closes it. */
    static Thread replying(ServerSocketChannel server, byte[] reply) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    try (SocketChannel c = server.accept()) {
                        c.write(ByteBuffer.wrap(reply));
                        c.shutdownOutput();
                        c.read(ByteBuffer.allocate(4096));
                    }
                }
            } catch (IOException e) {
                // closed by the test
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void thePeersBytesAreEscapedInTheErrorLine() throws Exception {
        byte[] evil = {0x1b, '[', '3', '1', 'm', 'R', 'E', 'D', 0x00, (byte) 0xff};
        for (String h : List.of("qemu", "cloud-hypervisor", "firecracker")) {
            Path sock = tmp.resolve(h + ".sock");
            byte[] reply = new byte[evil.length + (h.equals("qemu") ? 0 : 9) + 1];
            int at = 0;
            if (!h.equals("qemu")) {
                byte[] status = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(status, 0, reply, 0, status.length);
                at = status.length;
            }
            System.arraycopy(evil, 0, reply, at, evil.length);
            reply[reply.length - 1] = '\n';
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(sock));
                replying(server, reply);
                Cli.Result r = Cli.run("shutdown", "--hypervisor", h, "--socket", sock.toString(), "--timeout", "10");
                assertEquals(1, r.exitCode(), r.err());
                assertTrue(r.err().contains("\\e[31mRED\\x00\\xff"), h + ": " + r.err());
                for (char ch : r.err().toCharArray()) {
                    assertTrue(ch == '\n' || ch >= 0x20 && ch < 0x7f, h + ": raw char " + (int) ch + " in " + r.err());
                }
                assertEquals(1, r.err().split("\n", -1).length - 1, r.err());
            }
        }
    }
}
