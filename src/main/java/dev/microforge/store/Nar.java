package dev.microforge.store;

import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
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
            java.util.Objects.requireNonNull(narHash, "narHash");
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
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                if (size >= MAP_THRESHOLD) {
                    mapped(p, ch, size, w, events, buf);
                } else {
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
            } catch (AccessDeniedException e) {
                throw new UserError(p + ": permission denied");
            } catch (NoSuchFileException e) {
                throw new UserError(p + ": vanished while reading");
            }
        }
        w.regularEnd(size);
    }

    private static void mapped(Path p, FileChannel ch, long size, NarWriter w, Events events, byte[] buf) throws IOException {
        if (ch.size() < size) {
            throw new IOException(p + ": file shrank while reading (expected " + size + " bytes)");
        }
        int chunk = Math.min(buf.length, 1 << 18);
        try {
            for (long off = 0; off < size; off += MAP_WINDOW) {
                java.nio.MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, off, Math.min(MAP_WINDOW, size - off));
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
