package dev.microforge.cli;

import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/** Renders core events: a progress bar on stderr when stderr is a terminal, warnings always, nothing else. */
public final class Terminal implements Events {
    private final PrintWriter err;
    private final boolean tty;
    private final AtomicLong done = new AtomicLong();
    private volatile long total = -1;
    private volatile String task = "";
    private volatile long lastDraw;

    public Terminal(PrintWriter err, boolean tty) {
        this.err = err;
        this.tty = tty;
    }

    public static Terminal forStderr(PrintWriter err) {
        return new Terminal(err, stderrIsTerminal());
    }

    /** True when file descriptor 2 is a terminal (Linux: /proc/self/fd/2 points at a tty). */
    public static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM")) || System.getenv("CI") != null) {
            return false;
        }
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void start(String task, long total) {
        this.task = task;
        this.total = total;
        done.set(0);
        draw(true);
    }

    @Override
    public void advance(long n) {
        done.addAndGet(n);
        draw(false);
    }

    @Override
    public void finish(String task) {
        if (tty) {
            synchronized (this) {
                err.print("\r\033[K");
                err.flush();
            }
        }
    }

    @Override
    public void warn(String message) {
        synchronized (this) {
            if (tty) {
                err.print("\r\033[K");
            }
            err.println("microforge: warning: " + RawNames.display(message));
            err.flush();
        }
    }

    private void draw(boolean force) {
        if (!tty) {
            return;
        }
        long now = System.nanoTime();
        if (!force && now - lastDraw < 100_000_000L) {
            return;
        }
        synchronized (this) {
            lastDraw = now;
            long d = done.get();
            long t = total;
            StringBuilder sb = new StringBuilder("\r\033[K").append(task).append(' ');
            if (t > 0) {
                int width = 30;
                int fill = (int) Math.min(width, d * width / t);
                sb.append('[').append("#".repeat(fill)).append(" ".repeat(width - fill)).append("] ")
                        .append(Math.min(100, d * 100 / t)).append('%');
            } else {
                sb.append(d);
            }
            err.print(sb);
            err.flush();
        }
    }
}
