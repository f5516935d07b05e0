package dev.microforge.image;

import dev.microforge.util.AtomicOutput;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Set;

/**
 * {@code image extract}: writes the image's tree under a new (or empty) directory: names as raw bytes,
 * permission bits, symlinks (never followed), mtimes of files and directories. Never writes outside the
 * target: a name that is empty, {@code .}, {@code ..} or holds {@code /} or NUL, and a symlink target with NUL,
 * is a {@link CorruptImageException}, and every file and directory is created new (a symlink in the way is an
 * error, never followed). Zero blocks of files (SquashFS sparse blocks, zero runs) become holes, so an image's
 * sparse file takes no more disk space than it needs. An existing target keeps its own mode and mtime; a
 * created one gets the image root's. On failure nothing is left: a created target is removed, an existing
 * one emptied again. The tree is walked iteratively: any depth the file system accepts works.
 */
public final class Extract {
    /** The unit of holes: zero runs this long, at this alignment, are skipped instead of written. */
    static final int HOLE = 4096;
    private static final byte[] ZEROS = new byte[HOLE];

    private Extract() {}

    /** A directory being filled: its children not written yet, and where its own metadata goes at the end. */
    private record Frame(byte[] name, ImageFs.Node node, Path at, Iterator<ImageFs.Child> todo, boolean setMeta) {}

    /**
     * Extracts into {@code target}, which must be missing (its parent existing) or an empty directory; a file,
     * symbolic link, device or non-empty directory is refused with a {@link UserError}. A missing target is written as
     * a temporary directory beside it and renamed into place at the end; an empty one is filled in place and emptied
     * again on failure. I/O errors name {@code target}, never the temporary directory.
     */
    public static void extract(ImageFs fs, Path target, Events events) throws IOException {
        if (target.toString().isEmpty()) {
            throw new UserError("the target directory path is empty");
        }
        String kind = AtomicOutput.kindOf(target);
        if (kind == null) {
            Path abs = target.toAbsolutePath().normalize();
            Path parent = abs.getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new UserError(target + ": parent directory " + parent + " does not exist");
            }
            Path tmp;
            try {
                tmp = Files.createTempDirectory(parent, AtomicOutput.tempPrefix(abs));
            } catch (IOException e) {
                throw AtomicOutput.failure(target, e);
            }
            try {
                fillNaming(fs, tmp, true, target, events);
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw AtomicOutput.failure(target, e);
                }
            } catch (IOException | RuntimeException | Error e) {
                discard(tmp, true);
                throw e;
            }
        } else if (kind.equals("a directory")) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(target)) {
                if (ds.iterator().hasNext()) {
                    throw new UserError(target + ": directory is not empty (extract writes into a new or empty directory)");
                }
            }
            try {
                fillNaming(fs, target, false, target, events);
            } catch (IOException | RuntimeException | Error e) {
                discard(target, false);
                throw e;
            }
        } else {
            throw new UserError(target + ": is " + kind + " (extract writes into a new or empty directory; refusing to use it)");
        }
    }

    /** {@link #fill} into {@code dir}; an I/O error names the file under {@code given}, never under {@code dir}. */
    private static void fillNaming(ImageFs fs, Path dir, boolean created, Path given, Events events) throws IOException {
        try {
            fill(fs, dir, created, events);
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException e) {
            String m = e instanceof FileSystemException f && f.getFile() != null
                    ? given.resolve(dir.relativize(Path.of(f.getFile()))) + ": " + AtomicOutput.reason(e)
                    : AtomicOutput.reason(e);
            throw new IOException(given + ": cannot extract: " + m, e);
        }
    }

    private static void fill(ImageFs fs, Path target, boolean created, Events events) throws IOException {
        ImageFs.Node root = fs.root();
        if (!(root instanceof ImageFs.DirNode d)) {
            throw new CorruptImageException("root inode is not a directory");
        }
        events.start("extracting", -1);
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(null, root, target, children(d, stack, null), created));
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (!f.todo().hasNext()) {
                stack.pop();
                if (f.setMeta()) {
                    setMeta(f.at(), f.node());
                }
                continue;
            }
            ImageFs.Child c = f.todo().next();
            try {
                checkName(c.name());
                Path p = RawNames.resolve(f.at(), c.name());
                ImageFs.Node n = c.node();
                try {
                    if (n instanceof ImageFs.DirNode sub) {
                        Files.createDirectory(p);
                        stack.push(new Frame(c.name(), n, p, children(sub, stack, c.name()), true));
                    } else if (n instanceof ImageFs.FileNode file) {
                        writeFile(file, p, events);
                        setMeta(p, n);
                    } else if (n instanceof ImageFs.LinkNode l) {
                        byte[] t = l.target();
                        if (t.length == 0 || indexOf(t, (byte) 0) >= 0) {
                            throw new CorruptImageException("symlink target is empty or contains NUL");
                        }
                        Files.createSymbolicLink(p, RawNames.path(t));
                    }
                } catch (FileAlreadyExistsException e) {
                    throw new CorruptImageException("duplicate name in a directory");
                }
            } catch (CorruptImageException e) {
                throw e.at(pathOf(stack, c.name()));
            }
        }
        events.finish("extracting");
    }

    /**
     * Removes what a failed extract wrote: the target if it created it, else the target's contents (the
     * target was empty). Best effort: the first error is the one reported.
     */
    private static void discard(Path target, boolean created) {
        try {
            Files.walkFileTree(target, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (created || !dir.equals(target)) {
                        Files.setPosixFilePermissions(dir, permissions(0700));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    if (created || !dir.equals(target)) {
                        Files.delete(dir);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | RuntimeException ignored) {
            // the extract's own failure is the one to report
        }
    }

    /** The children of {@code d}, named {@code name} in the directory on top of {@code stack}. */
    private static Iterator<ImageFs.Child> children(ImageFs.DirNode d, Deque<Frame> stack, byte[] name) throws IOException {
        try {
            return d.children().iterator();
        } catch (CorruptImageException e) {
            throw e.at(pathOf(stack, name));
        }
    }

    /** The image path of {@code name} inside the directory on top of {@code stack} (the directory itself if null). */
    static String pathOf(Deque<Frame> stack, byte[] name) {
        StringBuilder sb = new StringBuilder();
        Iterator<Frame> it = stack.descendingIterator();
        while (it.hasNext()) {
            Frame f = it.next();
            if (f.name() != null) {
                sb.append('/').append(RawNames.display(f.name()));
            }
        }
        if (name != null) {
            sb.append('/').append(RawNames.display(name));
        }
        return sb.length() == 0 ? "/" : sb.toString();
    }

    /** Refuses a name that would leave its directory or could not be created as given. */
    static void checkName(byte[] name) throws CorruptImageException {
        if (name.length == 0 || (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.')
                || indexOf(name, (byte) '/') >= 0 || indexOf(name, (byte) 0) >= 0) {
            throw new CorruptImageException("unsafe entry name '" + RawNames.display(name) + "' (empty, '.', '..', or with '/' or NUL)");
        }
    }

    private static int indexOf(byte[] b, byte v) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Writes a new file: {@link #HOLE}-aligned blocks of zeros are skipped (holes), the rest written at their
     * offsets; the length is set by writing the last byte when the file ends in a hole.
     */
    private static void writeFile(ImageFs.FileNode f, Path p, Events events) throws IOException {
        try (InputStream in = f.open();
                FileChannel out = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 16];
            long total = 0;
            int k;
            while ((k = in.readNBytes(buf, 0, buf.length)) > 0) {
                int runStart = -1;
                for (int o = 0; o < k; o += HOLE) {
                    int len = Math.min(HOLE, k - o);
                    boolean zero = Arrays.mismatch(buf, o, o + len, ZEROS, 0, len) < 0;
                    if (!zero && runStart < 0) {
                        runStart = o;
                    } else if (zero && runStart >= 0) {
                        writeAt(out, buf, runStart, o - runStart, total + runStart);
                        runStart = -1;
                    }
                }
                if (runStart >= 0) {
                    writeAt(out, buf, runStart, k - runStart, total + runStart);
                }
                total += k;
                events.advance(k);
            }
            if (total != f.size()) {
                throw new CorruptImageException("file data has " + total + " bytes, inode says " + f.size());
            }
            if (out.size() < total) {
                writeAt(out, new byte[1], 0, 1, total - 1);
            }
        }
    }

    private static void writeAt(FileChannel out, byte[] b, int off, int len, long pos) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(b, off, len);
        long p = pos;
        while (bb.hasRemaining()) {
            p += out.write(bb, p);
        }
    }

    private static void setMeta(Path p, ImageFs.Node n) throws IOException {
        Files.setLastModifiedTime(p, FileTime.fromMillis(n.mtime() * 1000));
        Files.setPosixFilePermissions(p, permissions(n.mode()));
    }

    public static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE,
        };
        for (int i = 0; i < 9; i++) {
            if ((mode & (1 << (8 - i))) != 0) {
                s.add(order[i]);
            }
        }
        return s;
    }
}
