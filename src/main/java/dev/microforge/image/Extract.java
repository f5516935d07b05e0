package dev.microforge.image;

import dev.microforge.util.AtomicOutput;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * {@code image extract}: writes the image's tree under a new (or empty) directory: names as raw bytes,
 * permission bits, symlinks (never followed), mtimes of files and directories.
 */
public final class Extract {
    private Extract() {}

    /**
     * Extracts into {@code target}, which must be missing (its parent existing) or an empty directory; a file,
     * symbolic link, device or non-empty directory is refused with a {@link UserError}. A missing target is written as
     * a temporary directory beside it and renamed into place at the end; an empty one is filled in place and emptied
     * again on failure. Either way nothing is left behind when extraction fails.
     */
    public static void extract(ImageFs fs, Path target, Events events) throws IOException {
        if (target.toString().isEmpty()) {
            throw new UserError("the target directory path is empty");
        }
        ImageFs.Node root = fs.root();
        if (!(root instanceof ImageFs.DirNode d)) {
            throw new CorruptImageException("root inode is not a directory");
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
                fill(d, tmp, target, events);
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw AtomicOutput.failure(target, e);
                }
                tmp = null;
            } finally {
                if (tmp != null) {
                    deleteTree(tmp, true);
                }
            }
        } else if (kind.equals("a directory")) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(target)) {
                if (ds.iterator().hasNext()) {
                    throw new UserError(target + ": directory is not empty (extract writes into a new or empty directory)");
                }
            }
            boolean done = false;
            try {
                fill(d, target, target, events);
                done = true;
            } finally {
                if (!done) {
                    deleteTree(target, false);
                }
            }
        } else {
            throw new UserError(target + ": is " + kind + " (extract writes into a new or empty directory; refusing to use it)");
        }
    }

    /** Writes the tree of {@code root} into the empty directory {@code dir}; errors name {@code given}, never {@code dir}. */
    private static void fill(ImageFs.DirNode root, Path dir, Path given, Events events) throws IOException {
        events.start("extracting", -1);
        try {
            fillDir(root, dir, events);
            setMeta(dir, root);
        } catch (UserError | CorruptImageException e) {
            throw e;
        } catch (IOException e) {
            String m = e instanceof java.nio.file.FileSystemException f && f.getFile() != null
                    ? given.resolve(dir.relativize(Path.of(f.getFile()))) + ": " + AtomicOutput.reason(e)
                    : AtomicOutput.reason(e);
            throw new IOException(given + ": cannot extract: " + m, e);
        }
        events.finish("extracting");
    }

    /** Removes {@code p} with everything below it ({@code self}), or only what is below it. Never follows links. */
    private static void deleteTree(Path p, boolean self) throws IOException {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            if (self) {
                Files.setPosixFilePermissions(p, permissions(0700));
            }
            java.util.List<Path> children;
            try (var s = Files.list(p)) {
                children = s.toList();
            }
            for (Path c : children) {
                deleteTree(c, true);
            }
        }
        if (self) {
            Files.deleteIfExists(p);
        }
    }

    /** A name from an image that is safe to create in a directory: not empty, '.', '..', no '/' or NUL. */
    static boolean safeName(byte[] name) {
        if (name.length == 0 || name.length == 1 && name[0] == '.' || name.length == 2 && name[0] == '.' && name[1] == '.') {
            return false;
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                return false;
            }
        }
        return true;
    }

    private static void fillDir(ImageFs.DirNode dir, Path at, Events events) throws IOException {
        for (ImageFs.Child c : dir.children()) {
            if (!safeName(c.name())) {
                throw new CorruptImageException("unsafe name '" + RawNames.display(c.name()) + "' in a directory");
            }
            Path p = RawNames.resolve(at, c.name());
            ImageFs.Node n = c.node();
            try {
                if (n instanceof ImageFs.DirNode d) {
                    Files.createDirectory(p);
                    fillDir(d, p, events);
                    setMeta(p, n);
                } else if (n instanceof ImageFs.FileNode f) {
                    try (InputStream in = f.open();
                            OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        byte[] buf = new byte[1 << 16];
                        long total = 0;
                        int k;
                        while ((k = in.read(buf)) > 0) {
                            out.write(buf, 0, k);
                            total += k;
                            events.advance(k);
                        }
                        if (total != f.size()) {
                            throw new CorruptImageException(RawNames.display(c.name()) + ": file data has " + total + " bytes, inode says " + f.size());
                        }
                    }
                    setMeta(p, n);
                } else if (n instanceof ImageFs.LinkNode l) {
                    Files.createSymbolicLink(p, RawNames.path(l.target()));
                }
            } catch (FileAlreadyExistsException e) {
                throw new CorruptImageException("duplicate name " + RawNames.display(c.name()) + " in a directory");
            }
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
