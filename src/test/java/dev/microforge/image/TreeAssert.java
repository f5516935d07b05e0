package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.microforge.fs.Reproducible;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Compares an image's content with the source tree it was built from, under the reproducibility rules:
 * same names (bytes), types, file contents and symlink targets; modes as {@link Reproducible} normalizes them.
 */
public final class TreeAssert {
    private TreeAssert() {}

    /** {@code extracted} (a directory written by an extractor) equals {@code source} normalized. */
    public static void sameTree(Path source, Path extracted) throws IOException {
        walk(source, extracted, "");
    }

    private static void walk(Path s, Path e, String rel) throws IOException {
        PosixFileAttributes sa = Files.readAttributes(s, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes ea;
        try {
            ea = Files.readAttributes(e, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException x) {
            fail("missing in extraction: " + rel);
            return;
        }
        if (sa.isSymbolicLink()) {
            assertEquals(true, ea.isSymbolicLink(), rel + ": not a symlink");
            assertArrayEquals(RawNames.bytes(Files.readSymbolicLink(s)), RawNames.bytes(Files.readSymbolicLink(e)), rel + ": symlink target");
        } else if (sa.isRegularFile()) {
            assertEquals(true, ea.isRegularFile(), rel + ": not a regular file");
            int want = sa.permissions().contains(PosixFilePermission.OWNER_EXECUTE) ? Reproducible.EXEC_FILE_MODE : Reproducible.FILE_MODE;
            assertEquals(Integer.toOctalString(want), Integer.toOctalString(mode(ea.permissions())), rel + ": mode");
            assertEquals(sa.size(), ea.size(), rel + ": size");
            assertArrayEquals(sha(s), sha(e), rel + ": content");
        } else if (sa.isDirectory()) {
            assertEquals(true, ea.isDirectory(), rel + ": not a directory");
            if (!rel.isEmpty()) { // extractors leave the mode of the target directory itself alone
                assertEquals(Integer.toOctalString(Reproducible.DIR_MODE), Integer.toOctalString(mode(ea.permissions())), rel + ": mode");
            }
            List<byte[]> sn = names(s);
            List<byte[]> en = names(e);
            List<String> sd = sn.stream().map(RawNames::display).toList();
            List<String> ed = en.stream().map(RawNames::display).toList();
            assertEquals(sd, ed, rel + ": entries");
            for (int i = 0; i < sn.size(); i++) {
                assertArrayEquals(sn.get(i), en.get(i), rel + ": name bytes");
                walk(RawNames.resolve(s, sn.get(i)), RawNames.resolve(e, en.get(i)), rel + "/" + RawNames.display(sn.get(i)));
            }
        } else {
            fail(rel + ": unexpected file type in source");
        }
    }

    static int mode(Set<PosixFilePermission> p) {
        int m = 0;
        PosixFilePermission[] order = PosixFilePermission.values();
        for (int i = 0; i < 9; i++) {
            if (p.contains(order[i])) {
                m |= 1 << (8 - i);
            }
        }
        return m;
    }

    static List<byte[]> names(Path dir) throws IOException {
        List<byte[]> l = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path c : ds) {
                l.add(RawNames.name(c));
            }
        }
        l.sort(Arrays::compareUnsigned);
        return l;
    }

    static byte[] sha(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return md.digest();
        } catch (java.security.NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }
}
