package dev.microforge.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * A manifest of a directory tree as lstat sees it, to prove that a command changed nothing outside its output:
 * per entry (relative path) its type, permission bits and, by type, size + mtime + SHA-256 (regular files),
 * the target (symlinks) or the device number (devices). Directory mtimes are left out (creating and removing a
 * temporary file beside an output changes them); FIFOs and devices are never opened.
 */
public final class Manifest {
    private Manifest() {}

    public static Map<String, String> of(Path root) throws IOException {
        Map<String, String> m = new TreeMap<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                m.put(rel(root, dir), describe(dir));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                m.put(rel(root, file), describe(file));
                return FileVisitResult.CONTINUE;
            }
        });
        return m;
    }

    static String rel(Path root, Path p) {
        String r = root.relativize(p).toString();
        return r.isEmpty() ? "." : r;
    }

    static String describe(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        String perms = Integer.toOctalString(mode & 07777);
        return switch (mode & 0170000) {
            case 0100000 -> "f " + perms + " " + Files.size(p) + " "
                    + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() + " " + sha256(p);
            case 0040000 -> "d " + perms;
            case 0120000 -> "l -> " + Files.readSymbolicLink(p);
            case 0020000, 0060000 -> ((mode & 0170000) == 0020000 ? "c " : "b ") + perms + " "
                    + Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
            case 0010000 -> "p " + perms;
            case 0140000 -> "s " + perms;
            default -> "? " + Integer.toOctalString(mode);
        };
    }

    static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
