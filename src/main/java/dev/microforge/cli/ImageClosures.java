package dev.microforge.cli;

import dev.microforge.util.Tasks;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.image.Verify;
import dev.microforge.store.Nar;
import dev.microforge.util.Events;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/** Closure helpers of the image commands: narHash/narSize from the closure, or from the store when it has none. */
final class ImageClosures {
    private ImageClosures() {}

    /** The graph with every missing narHash/narSize computed from the store paths on disk (in parallel). */
    static ClosureGraph withNarHashes(ClosureGraph g, Path store, int threads, Events events) throws IOException {
        Threads.check(threads);
        List<PathInfo> infos = g.paths();
        boolean complete = infos.stream().allMatch(pi -> pi.narHash() != null && pi.hasNarSize());
        if (complete) {
            return g;
        }
        events.start("hashing store paths for the registration", infos.size());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<PathInfo>> fs = new ArrayList<>();
            for (PathInfo pi : infos) {
                fs.add(pool.submit(() -> {
                    if (pi.narHash() != null && pi.hasNarSize()) {
                        return pi;
                    }
                    Nar.Info n = Nar.hash(onDisk(store, pi));
                    events.advance(1);
                    return pi.withNar(n.narHash(), n.narSize());
                }));
            }
            List<PathInfo> out = new ArrayList<>();
            for (Future<PathInfo> f : fs) {
                out.add(Tasks.await(f));
            }
            events.finish("hashing store paths for the registration");
            return g.withInfos(out);
        } finally {
            pool.shutdownNow();
        }
    }

    static Path onDisk(Path store, PathInfo pi) {
        Path p = store.resolve(pi.path().baseName());
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new UserError(pi.path() + ": store path is missing on disk (looked for " + p + ")");
        }
        return p;
    }

    /** What each path must hash to: the closure's narHash, else the store's (computed on demand). */
    static Function<PathInfo, Verify.NarInfo> expectedNar(ClosureGraph g, ClosureOptions opts) {
        return pi -> {
            if (pi.narHash() != null) {
                return new Verify.NarInfo(pi.narHash(), pi.hasNarSize() ? pi.narSize() : -1);
            }
            try {
                Nar.Info n = Nar.hash(onDisk(opts.realStore(), pi));
                return new Verify.NarInfo(n.narHash(), n.narSize());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }
}
