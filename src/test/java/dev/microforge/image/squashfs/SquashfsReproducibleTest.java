package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageOptions;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Same closure, same bytes: whatever the order files were created in (directory listing order), their
 * mtimes and permission bits other than the owner execute bit (umask), the order of the closure's paths,
 * and the number of threads (1, 2, 8).
 */
class SquashfsReproducibleTest {
    @TempDir
    Path tmp;

    /** A store with 3 paths; files created in an order, mtimes and modes depending on {@code variant}. */
    private List<StorePath> makeStore(Path store, int variant) throws Exception {
        Files.createDirectories(store);
        String dir = store.toAbsolutePath().toString();
        List<StorePath> paths = List.of(
                new StorePath(dir, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "alpha"),
                new StorePath(dir, "1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b", "beta-1.0"),
                new StorePath(dir, "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c", "gamma"));
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(variant));
        Random r = new Random(100 + variant);
        for (int i : order) {
            Path p = store.resolve(paths.get(i % 3).baseName()).resolve("d" + (i % 7)).resolve("f" + i);
            Files.createDirectories(p.getParent());
            byte[] content = i % 5 == 0 ? TestTrees.random(i, 150_000 + i) : TestTrees.text(i, 100 + i * 997 % 40_000);
            Files.write(p, content);
            boolean exec = i % 4 == 0;
            String perms = switch (variant % 3) {
                case 0 -> exec ? "rwxr-xr-x" : "rw-r--r--";
                case 1 -> exec ? "rwx------" : "rw-------";
                default -> exec ? "r-xrwxrwx" : "r--rw-rw-";
            };
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
            Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000L * r.nextInt(1_000_000)));
            if (i % 11 == 0) {
                Files.createSymbolicLink(p.resolveSibling("link" + i), Path.of("f" + i));
            }
        }
        return paths;
    }

    private String build(Path store, List<StorePath> paths, int threads, long seed) throws Exception {
        List<PathInfo> infos = new ArrayList<>();
        for (StorePath p : paths) {
            infos.add(new PathInfo(p, List.of()));
        }
        Collections.shuffle(infos, new Random(seed));
        ClosureGraph g = ClosureGraph.of(store.toAbsolutePath().toString(), "test", infos);
        Path out = tmp.resolve("img-" + threads + "-" + seed + "-" + store.getFileName());
        ImageBuild.build(g, store, "squashfs", ImageOptions.defaults().withCompression("zstd").withLevel(3)
                .withBlockSize(16384L).withThreads(threads).withMtime(1234), Map.of("registration", new byte[] {'x'}), out, Events.NONE);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(out)));
    }

    @Test
    void sameBytesWhateverOrderModesMtimesAndThreads() throws Exception {
        // the store directory name is part of the paths, so all variants use the same name in different parents
        Path s1 = tmp.resolve("v1/store");
        Path s2 = tmp.resolve("v2/store");
        Path s3 = tmp.resolve("v3/store");
        List<StorePath> p1 = makeStore(s1, 1);
        String reference = build(s1, p1, 1, 1);
        assertEquals(reference, build(s1, p1, 2, 2));
        assertEquals(reference, build(s1, p1, 8, 3));
        // different parents give different store dirs: compare trees through relocated path lists
        List<StorePath> p2 = makeStore(s2, 2);
        List<StorePath> p3 = makeStore(s3, 3);
        assertEquals(reference, build(s2, p2, 2, 4));
        assertEquals(reference, build(s3, p3, 8, 5));
    }
}
