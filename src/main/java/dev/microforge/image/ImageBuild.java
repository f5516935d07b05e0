package dev.microforge.image;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.fs.Dir;
import dev.microforge.fs.Node;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.store.StorePath;
import dev.microforge.util.AtomicOutput;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a store-disk image: closure -> normalized tree (one root entry per store path, plus generated files
 * such as the registration) -> the format's writer -> {@link AtomicOutput} (nothing is left at the output
 * path unless the whole image was written).
 */
public final class ImageBuild {
    private ImageBuild() {}

    /**
     * @param storeOnDisk where the closure's store paths are on this machine (usually the store dir itself)
     * @param extraRootFiles generated files to add at the image root (name to content), e.g. the registration
     */
    public static void build(ClosureGraph closure, Path storeOnDisk, String type, ImageOptions options,
            Map<String, byte[]> extraRootFiles, Path out, Events events) throws IOException {
        build(closure, storeOnDisk, type, options, extraRootFiles, out, events, null);
    }

    /**
     * As above; {@code reuse}: an earlier image (or null) whose store paths with the same narHash and options
     * are copied instead of compressed (squashfs, erofs), the image being the same as a build without it.
     */
    public static void build(ClosureGraph closure, Path storeOnDisk, String type, ImageOptions options,
            Map<String, byte[]> extraRootFiles, Path out, Events events, Path reuse) throws IOException {
        Prepared<?> prepared = prepare(ImageFormats.byType(type), options);
        if (!Files.isDirectory(storeOnDisk)) {
            throw new UserError(storeOnDisk + ": store directory does not exist");
        }
        List<StorePath> paths = new ArrayList<>(closure.size());
        for (PathInfo pi : closure.paths()) {
            paths.add(pi.path());
        }
        events.start("scanning store paths", paths.size());
        Dir root = TreeBuilder.fromStore(storeOnDisk, paths, extraRootFiles, events, options.threads());
        events.finish("scanning store paths");
        Map<String, String> narHashes = new HashMap<>();
        for (PathInfo pi : closure.paths()) {
            if (pi.narHash() != null) {
                narHashes.put(pi.path().baseName(), pi.narHash().toSri());
            }
        }
        prepared.write(root, out, events, narHashes, reuse);
    }

    /** An image whose root is the directory {@code dir} on disk (tests, and the kernel mount tests). */
    public static void fromDirectory(Path dir, String type, ImageOptions options, Path out) throws IOException {
        Node n = TreeBuilder.scan(dir);
        if (!(n instanceof Dir root)) {
            throw new UserError(dir + ": not a directory");
        }
        prepare(ImageFormats.byType(type), options).write(root, out, Events.NONE, Map.of(), null);
    }

    /** A format with its validated options ({@link ImageFormat#options}): checked before any scanning. */
    private record Prepared<O extends Record>(ImageFormat<O> format, O options) {
        /** Writes {@code root} to {@code out} atomically (narHashes and reuse: {@link ImageFormat}). */
        void write(Dir root, Path out, Events events, Map<String, String> narHashes, Path reuse) throws IOException {
            try (AtomicOutput ao = AtomicOutput.create(out)) {
                try {
                    format.write(root, options, ao.channel(), ao.tempPath(), events, narHashes, reuse);
                } catch (UserError e) {
                    throw e;
                } catch (IOException e) {
                    if (e instanceof CorruptImageException) {
                        throw e;
                    }
                    throw new IOException(out + ": cannot write image: " + ao.describe(e), e);
                }
                ao.commit();
            }
        }
    }

    private static <O extends Record> Prepared<O> prepare(ImageFormat<O> format, ImageOptions options) {
        return new Prepared<>(format, format.options(options));
    }
}
