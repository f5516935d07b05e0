package dev.microforge.runner;

import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Clean shutdown over the hypervisor's control socket, then a bounded wait for the hypervisor to exit (what
 * {@code microvm-shutdown} runs: {@code microforge shutdown}). Never reads standard input.
 * <ul>
 * <li>qemu: QMP {@code qmp_capabilities}, {@code system_powerdown} (the ACPI power button), then the QMP connection
 * stays open until qemu exits and closes it.</li>
 * <li>cloud-hypervisor: {@code PUT /api/v1/vm.power-button}; firecracker: {@code PUT /actions} SendCtrlAltDel (x86:
 * the i8042 reset the guest turns into a reboot, which ends firecracker); then the API socket is asked
 * ({@code GET}) until it stops answering.</li>
 * <li>crosvm: {@code crosvm powerbtn SOCKET} (the ACPI power button; crosvm from PATH unless named), then the control
 * socket is probed until nothing listens on it any more (crosvm removes it at exit; its SOCK_SEQPACKET listener
 * answers a stream connect with EPROTOTYPE, which counts as listening).</li>
 * </ul>
 */
public final class Shutdown {
    /** The outcome, for the CLI's exit code: the hypervisor exited, or it was not running to begin with. */
    public enum Result { EXITED, NOT_RUNNING }

    private Shutdown() {}

    /**
     * Sends the power-off request and waits at most {@code timeoutMillis} (in total) for the hypervisor to exit.
     * Throws {@link UserError} for a hypervisor without a clean shutdown, {@link IOException} when the hypervisor
     * refuses or does not exit in time.
     */
    public static Result run(Hypervisor h, Path socket, long timeoutMillis, Consumer<String> log) throws IOException {
        return run(h, socket, timeoutMillis, "crosvm", log);
    }

    /** As {@link #run(Hypervisor, Path, long, Consumer)}; {@code crosvm} is the crosvm program (a path, or a name looked up in PATH). */
    public static Result run(Hypervisor h, Path socket, long timeoutMillis, String crosvm, Consumer<String> log) throws IOException {
        if (h != Hypervisor.QEMU && h != Hypervisor.CLOUD_HYPERVISOR && h != Hypervisor.FIRECRACKER && h != Hypervisor.CROSVM) {
            throw new UserError("--hypervisor: microforge shutdown speaks to qemu, cloud-hypervisor, firecracker and crosvm, not " + h);
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        if (h == Hypervisor.CROSVM) {
            return crosvm(crosvm, socket, deadline, log);
        }
        Conn c;
        try {
            c = Conn.open(socket);
        } catch (IOException e) {
            if (nobodyListens(socket, e)) {
                log.accept(RawNames.display(socket.toString()) + ": nothing listens (" + RawNames.display(String.valueOf(e.getMessage()))
                        + "): the VM is not running");
                return Result.NOT_RUNNING;
            }
            throw new IOException(RawNames.display(socket.toString()) + ": cannot connect: " + RawNames.display(String.valueOf(e.getMessage())), e);
        }
        try (c) {
            if (h == Hypervisor.QEMU) {
                qmp(c, deadline);
                log.accept("qemu: system_powerdown sent, waiting for qemu to exit");
                // qemu closes the connection when it exits; events (POWERDOWN, SHUTDOWN) come before
                while (c.readLine(deadline) != null) {
                    // events
                }
                return Result.EXITED;
            }
            String request = h == Hypervisor.CLOUD_HYPERVISOR
                    ? http("PUT", "/api/v1/vm.power-button", null)
                    : http("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
            c.write(request, deadline);
            byte[] status = c.readLine(deadline);
            if (status == null || !ascii(status).strip().matches("HTTP/1\\.[01] 2\\d\\d.*")) {
                throw new IOException(h + " refused the shutdown request: " + (status == null ? "no answer" : shown(status)));
            }
        }
        log.accept(h + ": power-off requested, waiting for " + h + " to exit");
        String ping = h == Hypervisor.CLOUD_HYPERVISOR ? "/api/v1/vmm.ping" : "/";
        while (true) {
            try (Conn p = Conn.open(socket)) {
                p.write(http("GET", ping, null), deadline);
                if (p.readLine(deadline) == null) {
                    return Result.EXITED;
                }
            } catch (IOException e) {
                if (e instanceof Timeout t) {
                    throw t;
                }
                return Result.EXITED; // the socket no longer answers: the hypervisor is gone
            }
            if (System.nanoTime() > deadline) {
                throw new Timeout();
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
    }

    /** Kills a process and whatever it started (a crosvm wrapper script's children are not left behind). */
    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static Result crosvm(String crosvm, Path socket, long deadline, Consumer<String> log) throws IOException {
        if (!listening(socket)) {
            log.accept(RawNames.display(socket.toString()) + ": nothing listens: the VM is not running");
            return Result.NOT_RUNNING;
        }
        String sockArg = socket.toString().startsWith("-") ? "./" + socket : socket.toString();
        ProcessBuilder pb = new ProcessBuilder(crosvm, "powerbtn", sockArg)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot run " + RawNames.display(crosvm) + " powerbtn: " + RawNames.display(String.valueOf(e.getMessage())), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (var in = p.getInputStream()) {
                in.transferTo(out);
            } catch (IOException e) {
                // the process is gone
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                kill(p);
                throw new Timeout();
            }
            reader.join(1000);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (p.exitValue() != 0) {
            String msg = shown(out.toByteArray());
            throw new IOException(RawNames.display(crosvm) + " powerbtn failed (exit " + p.exitValue() + ")" + (msg.isEmpty() ? "" : ": " + msg));
        }
        log.accept("crosvm: power button pressed, waiting for crosvm to exit");
        while (listening(socket)) {
            if (System.nanoTime() > deadline) {
                throw new Timeout();
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        return Result.EXITED;
    }

    /** Whether something listens on the socket: a connect succeeds or fails other than {@link #nobodyListens}. */
    static boolean listening(Path socket) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return !nobodyListens(socket, e);
        }
    }

    /**
     * Whether a failed connect means no hypervisor is there: the socket file is missing, or it exists and the
     * kernel refused the connection (a stale socket; {@link ConnectException}). Anything else (permission denied, a
     * socket of another type) means something may be there.
     */
    static boolean nobodyListens(Path socket, IOException e) {
        return e instanceof ConnectException || e instanceof NoSuchFileException
                || !Files.exists(socket, LinkOption.NOFOLLOW_LINKS);
    }

    /** ASCII view of a peer's line for matching (each byte one char); never shown. */
    static String ascii(byte[] line) {
        return new String(line, StandardCharsets.ISO_8859_1);
    }

    /**
     * A peer's line as shown in a message: surrounding whitespace stripped, control bytes, invalid UTF-8 (0xFF as
     * {@code \xff}) and the like escaped by {@link RawNames#display(byte[])}, at most 200 bytes.
     */
    static String shown(byte[] line) {
        int from = 0;
        int to = line.length;
        while (from < to && (line[from] == ' ' || line[from] == '\t' || line[from] == '\r' || line[from] == '\n')) {
            from++;
        }
        while (to > from && (line[to - 1] == ' ' || line[to - 1] == '\t' || line[to - 1] == '\r' || line[to - 1] == '\n')) {
            to--;
        }
        boolean cut = to - from > 200;
        return RawNames.display(Arrays.copyOfRange(line, from, cut ? from + 200 : to)) + (cut ? "..." : "");
    }

    private static void qmp(Conn c, long deadline) throws IOException {
        byte[] greeting = c.readLine(deadline);
        if (greeting == null || !ascii(greeting).contains("\"QMP\"")) {
            throw new IOException("not a QMP socket (greeting: " + (greeting == null ? "none" : shown(greeting)) + ")");
        }
        command(c, "{\"execute\":\"qmp_capabilities\"}", deadline);
        command(c, "{\"execute\":\"system_powerdown\"}", deadline);
    }

    /** Sends a QMP command and reads up to its answer (events before it are skipped). */
    private static void command(Conn c, String json, long deadline) throws IOException {
        c.write(json + "\n", deadline);
        while (true) {
            byte[] line = c.readLine(deadline);
            if (line == null) {
                throw new IOException("qemu closed the QMP connection before answering " + json);
            }
            if (ascii(line).contains("\"error\"")) {
                throw new IOException("qemu refused " + json + ": " + shown(line));
            }
            if (ascii(line).contains("\"return\"")) {
                return;
            }
        }
    }

    private static String http(String method, String path, String body) {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        return method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
                + (body != null ? "Content-Type: application/json\r\n" : "")
                + "Content-Length: " + b.length + "\r\nConnection: close\r\n\r\n" + (body == null ? "" : body);
    }

    /** The deadline passed. */
    static final class Timeout extends IOException {
        private static final long serialVersionUID = 1L;

        Timeout() {
            super("timed out");
        }
    }

    /** A unix socket connection with line reads bounded by a deadline. */
    static final class Conn implements AutoCloseable {
        private final SocketChannel ch;
        private final Selector sel;
        private final SelectionKey key;
        private final ByteBuffer buf = ByteBuffer.allocate(8192);
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private boolean eof;

        private Conn(SocketChannel ch, Selector sel, SelectionKey key) {
            this.ch = ch;
            this.sel = sel;
            this.key = key;
        }

        static Conn open(Path socket) throws IOException {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            Selector sel = null;
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
                ch.configureBlocking(false);
                sel = Selector.open();
                return new Conn(ch, sel, ch.register(sel, SelectionKey.OP_READ));
            } catch (IOException | RuntimeException e) {
                if (sel != null) {
                    sel.close();
                }
                ch.close();
                throw e;
            }
        }

        /** Writes all of {@code s}, waiting for the peer to take it at most until {@code deadline}. */
        void write(String s, long deadline) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                if (ch.write(b) > 0) {
                    continue;
                }
                // the socket buffer is full: wait until it drains instead of spinning on the non-blocking channel
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new Timeout();
                }
                key.interestOps(SelectionKey.OP_WRITE);
                try {
                    sel.select(left);
                    sel.selectedKeys().clear();
                } finally {
                    key.interestOps(SelectionKey.OP_READ);
                }
            }
        }

        /**
         * The next line as the peer sent it (bytes, with its newline), the rest at EOF, or null at EOF with nothing
         * left. The bytes are the peer's: show them only through {@link #shown}.
         */
        byte[] readLine(long deadline) throws IOException {
            while (true) {
                byte[] have = pending.toByteArray();
                int nl = -1;
                for (int i = 0; i < have.length; i++) {
                    if (have[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                if (nl >= 0) {
                    pending.reset();
                    pending.write(have, nl + 1, have.length - nl - 1);
                    return Arrays.copyOf(have, nl + 1);
                }
                if (eof) {
                    if (have.length == 0) {
                        return null;
                    }
                    pending.reset();
                    return have;
                }
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new Timeout();
                }
                sel.select(left);
                sel.selectedKeys().clear();
                buf.clear();
                int n;
                try {
                    n = ch.read(buf);
                } catch (IOException e) {
                    n = -1; // connection reset: the peer is gone
                }
                if (n < 0) {
                    eof = true;
                } else {
                    pending.write(buf.array(), 0, buf.position());
                }
            }
        }

        @Override
        public void close() throws IOException {
            try {
                sel.close();
            } finally {
                ch.close();
            }
        }
    }
}
