package dev.microforge.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A virtiofsd serving one directory for a {@link Guest} boot (tests only; the runner has its own). Debian's is
 * {@code /usr/lib/qemu/virtiofsd} (QEMU 7.2's C daemon); {@code -Dmicroforge.virtiofsd=} overrides. It serves
 * one connection and exits when the VM disconnects; {@link #close()} stops it in any case.
 */
public final class Virtiofsd implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;

    private Virtiofsd(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    public static Path require() {
        String o = System.getProperty("microforge.virtiofsd");
        if (o != null && !o.isEmpty()) {
            return Tools.require(o);
        }
        Path deb = Path.of("/usr/lib/qemu/virtiofsd");
        return Files.isExecutable(deb) ? deb : Tools.require("virtiofsd");
    }

    /** Starts serving {@code dir} on {@code socket} and waits (up to 20 s) for the socket to appear. */
    public static Virtiofsd start(Path dir, Path socket) throws IOException, InterruptedException {
        Path bin = require();
        Files.deleteIfExists(socket);
        Path log = socket.resolveSibling(socket.getFileName() + ".log");
        Process p = new ProcessBuilder(List.of(bin.toString(), "--socket-path=" + socket, "-o", "source=" + dir.toAbsolutePath(),
                "-o", "cache=none", "-o", "sandbox=namespace"))
                .redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        Virtiofsd v = new Virtiofsd(p, socket, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                v.close();
                throw new AssertionError("virtiofsd did not create " + socket + " (exit " + (p.isAlive() ? "none" : p.exitValue())
                        + "):\n" + Files.readString(log, StandardCharsets.ISO_8859_1));
            }
            Thread.sleep(20);
        }
        return v;
    }

    public Path socket() {
        return socket;
    }

    public String log() throws IOException {
        return Files.readString(log, StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
    }
}
