package dev.microforge.audit;

import dev.microforge.store.ReferenceScanner;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Names the files inside one store path where given hash parts occur: every entry's name, every symlink target
 * and every regular file's contents is scanned on its own with {@link ReferenceScanner} (Nix's algorithm), in
 * NAR order (names sorted by unsigned bytes), iteratively. Used only for the few hashes a whole-path scan flagged.
 */
final class HashLocator {
    /** Where a hash occurs: the file relative to the store path ("" for the path itself) and in which part. */
    record Hit(String hashPart, String file, String where) {}

    private HashLocator() {}

    static List<Hit> locate(Path root, List<String> hashParts) throws IOException {
        List<Hit> hits = new ArrayList<>();
        ArrayDeque<Object[]> todo = new ArrayDeque<>(); // {Path, relative display name}
        todo.push(new Object[] {root, ""});
        byte[] buf = new byte[1 << 16];
        while (!todo.isEmpty()) {
            Object[] item = todo.pop();
            Path p = (Path) item[0];
            String rel = (String) item[1];
            if (!rel.isEmpty()) {
                scan(hashParts, RawNames.name(p), hits, rel, "file name");
            }
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isSymbolicLink()) {
                scan(hashParts, RawNames.bytes(Files.readSymbolicLink(p)), hits, rel, "symlink target");
            } else if (a.isRegularFile()) {
                ReferenceScanner s = new ReferenceScanner(hashParts);
                try (InputStream in = Files.newInputStream(p)) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        s.write(buf, 0, n);
                    }
                } catch (AccessDeniedException e) {
                    throw new UserError(p + ": permission denied");
                }
                for (String h : s.found()) {
                    hits.add(new Hit(h, rel, "contents"));
                }
            } else if (a.isDirectory()) {
                List<Path> children = new ArrayList<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                    for (Path c : ds) {
                        children.add(c);
                    }
                }
                Path[] sorted = children.toArray(new Path[0]);
                Arrays.sort(sorted, (x, y) -> RawNames.compare(RawNames.name(x), RawNames.name(y)));
                for (int i = sorted.length - 1; i >= 0; i--) {
                    String name = RawNames.display(RawNames.name(sorted[i]));
                    todo.push(new Object[] {sorted[i], rel.isEmpty() ? name : rel + "/" + name});
                }
            }
        }
        return hits;
    }

    private static void scan(List<String> hashParts, byte[] bytes, List<Hit> hits, String rel, String where) {
        ReferenceScanner s = new ReferenceScanner(hashParts);
        s.write(bytes, 0, bytes.length);
        for (String h : s.found()) {
            hits.add(new Hit(h, rel, where));
        }
    }
}
