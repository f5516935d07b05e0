package dev.microforge.image;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.closure.Registration;
import dev.microforge.store.Nar;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.TestTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A small store on disk for image tests: {@code dir/store/<hash>-<name>} paths (a rich tree, a few packages,
 * a single file, a symlink) with a real closure (narHash computed by {@link Nar}), written as a registration
 * file {@code dir/closure}.
 */
public record StoreFixture(Path store, Path closureFile, ClosureGraph graph) {
    public static StoreFixture create(Path dir, int packages) throws IOException {
        Path store = Files.createDirectories(dir.resolve("store"));
        String storeDir = store.toAbsolutePath().toString();
        List<StorePath> paths = new ArrayList<>();
        String alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
        for (int i = 0; i < packages + 3; i++) {
            StringBuilder h = new StringBuilder();
            long x = 0x9E3779B97F4A7C15L * (i + 1);
            for (int k = 0; k < 32; k++) {
                h.append(alphabet.charAt((int) ((x >>> (k * 2 % 60)) & 31)));
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
            paths.add(new StorePath(storeDir, h.toString(), "pkg" + i));
        }
        TestTrees.rich(store.resolve(paths.get(0).baseName()), 300);
        Files.writeString(store.resolve(paths.get(1).baseName()), "a single file store path\n");
        Files.createSymbolicLink(store.resolve(paths.get(2).baseName()), Path.of(paths.get(1).baseName()));
        for (int i = 3; i < paths.size(); i++) {
            Path p = Files.createDirectories(store.resolve(paths.get(i).baseName()).resolve("bin"));
            Files.write(p.resolve("tool" + i), TestTrees.text(i, 1000 + 7919 * i % 200_000));
            Files.writeString(p.getParent().resolve("ref"), paths.get(0).path() + "\n", StandardCharsets.US_ASCII);
        }
        List<PathInfo> infos = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            Nar.Info n = Nar.hash(store.resolve(paths.get(i).baseName()));
            List<StorePath> refs = i >= 3 ? List.of(paths.get(0)) : List.of();
            infos.add(new PathInfo(paths.get(i), refs, n.narHash(), n.narSize(), null));
        }
        ClosureGraph g = ClosureGraph.of(storeDir, "fixture", infos, List.of());
        Path closure = dir.resolve("closure");
        Files.write(closure, Registration.write(g, false));
        return new StoreFixture(store, closure, g);
    }

    /** The same store with narHashes recomputed from disk, written to {@code closureFile}. */
    public static StoreFixture rehash(StoreFixture fx, Path closureFile) throws IOException {
        List<PathInfo> infos = new ArrayList<>();
        for (PathInfo pi : fx.graph().paths()) {
            Nar.Info n = Nar.hash(fx.store().resolve(pi.path().baseName()));
            infos.add(pi.withNar(n.narHash(), n.narSize()));
        }
        ClosureGraph g = fx.graph().withInfos(infos);
        Files.write(closureFile, Registration.write(g, false));
        return new StoreFixture(fx.store(), closureFile, g);
    }

    public String storeDir() {
        return store.toAbsolutePath().toString();
    }
}
