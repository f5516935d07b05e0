package dev.microforge.store;

import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.Tasks;
import dev.microforge.util.UserError;
import java.io.BufferedOutputStream;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;

/**
 * Serializes a file system object exactly as {@code nix-store --dump} does, and computes narHash/narSize
 * (optionally scanning the same stream for references). Entries are sorted by the unsigned bytes of their
 * names, "executable" is the owner execute bit, symlinks are not followed, names are raw bytes, other file
 * types are refused. The traversal is iterative: depth is bounded by memory, not by the Java stack.
 */
public final class Nar {
    /** Size of the read buffer for file contents. */
    static final int BUFFER = 1 << 20;

    /** narHash and narSize of one path. */
    public record Info(Hash narHash, long narSize) {
        public Info {
            Objects.requireNonNull(narHash, "narHash");
            if (narSize < 0) {
                throw new IllegalArgumentException("negative narSize");
            }
        }
    }

    private Nar() {}

    /** Writes the NAR of {@code path} to {@code out} (byte for byte what {@code nix-store --dump} prints). */
    public static long dump(Path path, OutputStream out) throws IOException {
        BufferedOutputStream buffered = new BufferedOutputStream(out, 1 << 16);
        NarWriter w = new NarWriter(buffered);
        walk(path, w, Events.NONE);
        buffered.flush();
        return w.written();
    }

    /** narHash (sha256) and narSize of {@code path}. */
    public static Info hash(Path path) throws IOException {
        return hash(path, null, Events.NONE);
    }

    /**
     * narHash and narSize of {@code path}; when {@code scanner} is given, the same NAR stream is scanned for
     * references. {@code events} gets {@code advance(bytes)} for file contents read.
     */
    public static Info hash(Path path, ReferenceScanner scanner, Events events) throws IOException {
        DigestSink sink = new DigestSink(scanner);
        walk(path, new NarWriter(sink), events);
        return sink.finish();
    }

    /**
     * As {@link #hash(Path, ReferenceScanner, Events)}; with {@code helpers}, a thread of the pool that has run out
     * of work of its own may join this hash: from then on this thread walks the tree and reads the files while the
     * helper computes SHA-256 (and scans) the NAR stream, chunk by chunk. SHA-256 sees the same bytes in the same
     * order, so the result does not depend on whether, or when, a helper joined.
     */
    public static Info hash(Path path, ReferenceScanner scanner, Events events, HashPool.Helpers helpers) throws IOException {
        if (helpers == null) {
            return hash(path, scanner, events);
        }
        try (SwitchSink sink = new SwitchSink(new DigestSink(scanner), helpers)) {
            walk(path, new NarWriter(sink), events);
            return sink.finish();
        }
    }

    /**
     * Feeds a {@link DigestSink} on the writing thread until an idle helper accepts the hashing; then hands the
     * stream over in chunks. A few chunks circulate between the two threads (bounded memory); a failing digest
     * never blocks the writer (the helper keeps recycling chunks; {@link #finish()} rethrows the failure).
     */
    static final class SwitchSink extends OutputStream implements AutoCloseable {
        static final int CHUNK = 1 << 18;
        static final int CHUNKS = 6;
        /** Bytes written between two looks for an idle helper. */
        static final int CHECK_EVERY = 1 << 20;

        private static final class Chunk {
            final byte[] data;
            int len;

            Chunk(int size) {
                data = new byte[size];
            }
        }

        private static final Chunk END = new Chunk(0);

        private final DigestSink digest;
        private final HashPool.Helpers helpers;
        private long sinceCheck;
        // pipe mode (after a helper joined)
        private BlockingQueue<Chunk> free;
        private BlockingQueue<Chunk> full;
        private CountDownLatch done;
        private volatile Throwable failure;
        private Chunk cur;
        private boolean ended;

        SwitchSink(DigestSink digest, HashPool.Helpers helpers) {
            this.digest = digest;
            this.helpers = helpers;
        }

        @Override
        public void write(int b) throws IOException {
            if (cur == null) {
                digest.write(b);
                sinceCheck++;
                return;
            }
            if (cur.len == CHUNK) {
                pass();
            }
            cur.data[cur.len++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (cur == null) {
                digest.write(b, off, len);
                sinceCheck += len;
                if (sinceCheck >= CHECK_EVERY) {
                    sinceCheck = 0;
                    tryHandOver();
                }
                return;
            }
            while (len > 0) {
                if (cur.len == CHUNK) {
                    pass();
                }
                int n = Math.min(len, CHUNK - cur.len);
                System.arraycopy(b, off, cur.data, cur.len, n);
                cur.len += n;
                off += n;
                len -= n;
            }
        }

        private void tryHandOver() {
            if (!helpers.anyIdle()) {
                return;
            }
            digest.flush(); // everything so far is in the digest before another thread touches it
            BlockingQueue<Chunk> fr = new ArrayBlockingQueue<>(CHUNKS);
            BlockingQueue<Chunk> fu = new ArrayBlockingQueue<>(CHUNKS + 1);
            CountDownLatch latch = new CountDownLatch(1);
            Runnable consumer = () -> {
                try {
                    while (true) {
                        Chunk c = fu.take();
                        if (c == END) {
                            return;
                        }
                        if (failure == null) {
                            try {
                                digest.write(c.data, 0, c.len);
                            } catch (Throwable t) {
                                failure = t;
                            }
                        }
                        c.len = 0;
                        fr.add(c);
                    }
                } catch (InterruptedException e) {
                    failure = new InterruptedIOException("interrupted while hashing");
                    Thread.currentThread().interrupt();
                } finally {
                    latch.countDown();
                }
            };
            if (helpers.lend(consumer)) {
                for (int i = 0; i < CHUNKS - 1; i++) {
                    fr.add(new Chunk(CHUNK));
                }
                free = fr;
                full = fu;
                done = latch;
                cur = new Chunk(CHUNK);
            }
        }

        private void pass() throws IOException {
            if (failure != null) {
                throw new IOException("hashing failed", failure);
            }
            try {
                full.put(cur);
                cur = free.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while hashing");
            }
        }

        /** narHash and narSize of everything written (waits for the helper, if one joined). */
        Info finish() throws IOException {
            if (cur != null) {
                if (cur.len > 0) {
                    pass();
                }
                ended = true;
                full.add(END);
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while hashing");
                }
                if (failure != null) {
                    throw Tasks.asIOException(failure);
                }
            }
            return digest.finish();
        }

        @Override
        public void close() {
            if (cur != null && !ended) {
                ended = true;
                full.add(END); // never blocks: the queue holds every chunk and the end mark
            }
        }
    }

    /**
     * An output stream that feeds sha256 and, if given, a reference scanner. Small writes (the NAR's framing
     * tokens) are gathered in an unsynchronized buffer; large writes (file contents) go straight through.
     */
    static final class DigestSink extends OutputStream {
        final MessageDigest md;
        final ReferenceScanner scanner;
        final byte[] buf = new byte[1 << 16];
        int fill;
        long count;

        DigestSink(ReferenceScanner scanner) {
            try {
                md = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            this.scanner = scanner;
        }

        @Override
        public void write(int b) {
            if (fill == buf.length) {
                flush();
            }
            buf[fill++] = (byte) b;
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (len <= buf.length - fill) {
                System.arraycopy(b, off, buf, fill, len);
                fill += len;
            } else {
                flush();
                if (len < buf.length) {
                    System.arraycopy(b, off, buf, 0, len);
                    fill = len;
                } else {
                    consume(b, off, len);
                }
            }
            count += len;
        }

        @Override
        public void flush() {
            if (fill > 0) {
                consume(buf, 0, fill);
                fill = 0;
            }
        }

        private void consume(byte[] b, int off, int len) {
            md.update(b, off, len);
            if (scanner != null) {
                scanner.write(b, off, len);
            }
        }

        Info finish() {
            flush();
            return new Info(Hash.sha256(md.digest()), count);
        }
    }

    private record Child(byte[] name, Path path) {}

    private static final class Frame {
        final Child[] children;
        int next;

        Frame(Child[] children) {
            this.children = children;
        }
    }

    private static void walk(Path root, NarWriter w, Events events) throws IOException {
        byte[] buf = new byte[BUFFER];
        w.header();
        ArrayDeque<Frame> stack = new ArrayDeque<>();
        Frame top = node(root, w, events, buf);
        if (top != null) {
            stack.push(top);
        }
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (f.next < f.children.length) {
                Child c = f.children[f.next];
                f.children[f.next++] = null;
                w.entryStart(c.name());
                Frame sub = node(c.path(), w, events, buf);
                if (sub != null) {
                    stack.push(sub);
                } else {
                    w.entryEnd();
                }
            } else {
                w.directoryEnd();
                stack.pop();
                if (!stack.isEmpty()) {
                    w.entryEnd();
                }
            }
        }
    }

    /** Writes a regular file or symlink completely; for a directory writes its start and returns its frame. */
    private static Frame node(Path p, NarWriter w, Events events, byte[] buf) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new UserError(p + ": no such file or directory");
        } catch (AccessDeniedException e) {
            throw new UserError(p + ": permission denied");
        }
        if (a.isRegularFile()) {
            regular(p, a.size(), a.permissions().contains(PosixFilePermission.OWNER_EXECUTE), w, events, buf);
            return null;
        }
        if (a.isSymbolicLink()) {
            w.symlink(RawNames.bytes(Files.readSymbolicLink(p)));
            return null;
        }
        if (a.isDirectory()) {
            List<Child> children = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                for (Path c : ds) {
                    if (!RawNames.exact() && c.getFileName().toString().indexOf('\uFFFD') >= 0) {
                        // the JDK decoded a non-UTF-8 name lossily and we cannot reach its bytes: refuse, never guess
                        throw new UserError(c + ": a file name that is not UTF-8 needs the JVM option"
                                + " --add-opens java.base/sun.nio.fs=ALL-UNNAMED (use the microforge launcher or java -jar)");
                    }
                    children.add(new Child(RawNames.name(c), c));
                }
            } catch (AccessDeniedException e) {
                throw new UserError(p + ": permission denied (cannot list directory)");
            }
            Child[] sorted = children.toArray(new Child[0]);
            Arrays.sort(sorted, (x, y) -> Arrays.compareUnsigned(x.name(), y.name()));
            w.directoryStart();
            return new Frame(sorted);
        }
        throw new UserError(p + ": unsupported file type (" + typeOf(p) + "); a NAR holds only regular files, directories and symlinks");
    }

    /** "FIFO", "socket", "character device", ... for the message about an unsupported file. */
    static String typeOf(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return switch (mode & 0170000) {
                case 0010000 -> "FIFO";
                case 0140000 -> "socket";
                case 0020000 -> "character device";
                case 0060000 -> "block device";
                default -> String.format("mode %o", mode);
            };
        } catch (IOException | RuntimeException e) {
            return "not a regular file, directory or symlink";
        }
    }

    /** Files at least this large are memory-mapped (saves the kernel-to-user copy of read()). */
    static final long MAP_THRESHOLD = 1 << 20;
    /** Size of one mapping window. */
    static final long MAP_WINDOW = 64L << 20;

    private static void regular(Path p, long size, boolean executable, NarWriter w, Events events, byte[] buf) throws IOException {
        w.regularStart(executable, size);
        if (size > 0) {
            try {
                if (size >= MAP_THRESHOLD || !ascii(p.toString())) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        if (size >= MAP_THRESHOLD) {
                            mapped(p, ch, size, w, events, buf);
                        } else {
                            readAll(p, ch, size, w, events, buf);
                        }
                    }
                } else {
                    // small files (most of a store path): a plain stream reads straight into buf, without the
                    // channel's per-open objects and its temporary direct buffer (docs/benchmarks.md, "Figures
                    // behind code comments"). Only for ASCII paths: a stream opens the path by its
                    // string, which names other bytes than the path's own when they are not ASCII (the locale's
                    // charset decides), while a channel opens the path's raw bytes.
                    try (FileInputStream in = new FileInputStream(p.toFile())) {
                        long left = size;
                        while (left > 0) {
                            int n = in.read(buf, 0, (int) Math.min(left, buf.length));
                            if (n < 0) {
                                throw new IOException(p + ": file shrank while reading (expected " + size + " bytes)");
                            }
                            w.contents(buf, 0, n);
                            left -= n;
                            events.advance(n);
                        }
                    }
                }
            } catch (FileNotFoundException e) {
                // FileInputStream reports every failure to open this way, the reason in parentheses
                String m = String.valueOf(e.getMessage());
                if (m.endsWith("(Permission denied)")) {
                    throw new UserError(p + ": permission denied");
                }
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new UserError(p + ": vanished while reading");
                }
                int at = m.lastIndexOf(" (");
                throw new IOException(p + ": " + (at >= 0 && m.endsWith(")") ? m.substring(at + 2, m.length() - 1) : m), e);
            } catch (AccessDeniedException e) {
                throw new UserError(p + ": permission denied");
            } catch (NoSuchFileException e) {
                throw new UserError(p + ": vanished while reading");
            }
        }
        w.regularEnd(size);
    }

    private static boolean ascii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static void readAll(Path p, FileChannel ch, long size, NarWriter w, Events events, byte[] buf) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(buf);
        long left = size;
        while (left > 0) {
            bb.clear();
            if (left < buf.length) {
                bb.limit((int) left);
            }
            int n = ch.read(bb);
            if (n < 0) {
                throw new IOException(p + ": file shrank while reading (expected " + size + " bytes)");
            }
            w.contents(buf, 0, n);
            left -= n;
            events.advance(n);
        }
    }

    private static void mapped(Path p, FileChannel ch, long size, NarWriter w, Events events, byte[] buf) throws IOException {
        if (ch.size() < size) {
            throw new IOException(p + ": file shrank while reading (expected " + size + " bytes)");
        }
        int chunk = Math.min(buf.length, 1 << 18);
        try {
            for (long off = 0; off < size; off += MAP_WINDOW) {
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, off, Math.min(MAP_WINDOW, size - off));
                while (m.hasRemaining()) {
                    int n = Math.min(chunk, m.remaining());
                    m.get(buf, 0, n);
                    w.contents(buf, 0, n);
                    events.advance(n);
                }
            }
        } catch (InternalError e) {
            // a mapped page vanished (the file was truncated while we read it): SIGBUS, reported by the JVM
            throw new IOException(p + ": file changed while reading", e);
        }
    }
}
