package dev.microforge.image;

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

    public static void extract(ImageFs fs, Path target, Events events) throws IOException {
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new UserError(target + ": exists and is not a directory");
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(target)) {
                if (ds.iterator().hasNext()) {
                    throw new UserError(target + ": directory is not empty");
                }
            }
        } else {
            Files.createDirectories(target);
        }
        ImageFs.Node root = fs.root();
        if (!(root instanceof ImageFs.DirNode d)) {
            throw new CorruptImageException("root inode is not a directory");
        }
        events.start("extracting", -1);
        fillDir(d, target, events);
        setMeta(target, root);
        events.finish("extracting");
    }

    private static void fillDir(ImageFs.DirNode dir, Path at, Events events) throws IOException {
        for (ImageFs.Child c : dir.children()) {
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
