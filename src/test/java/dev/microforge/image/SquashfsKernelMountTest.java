package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.squashfs.SquashfsWriter;
import dev.microforge.testkit.KernelMounts;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Debian 6.1 kernel mounts microforge's SquashFS images: every compressor, small and large blocks,
 * fragments on and off, all on disks of ONE QEMU TCG boot; the guest hashes every file and the manifest
 * equals the host's (modes normalized as the reproducibility rules say), and every inode is 0:0 with the
 * image's one mtime. Incremental results too: images built with {@code --reuse} from an earlier image of
 * another tree (one store path more, holding the first copies of files another path holds), in which one path
 * is copied whole and the other's data blocks are copied from the earlier image by content.
 */
@Tag("oracle")
class SquashfsKernelMountTest {
    @TempDir
    Path tmp;

    static final long MTIME = 1_700_000_000L;

    @Test
    void kernelMountsEveryVariantAndSeesTheSameFiles() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 600);
        Map<String, ImageOptions> variants = new LinkedHashMap<>();
        ImageOptions base = ImageOptions.defaults().withThreads(2).withMtime(MTIME);
        variants.put("zstd", base.withCompression("zstd"));
        variants.put("xz-1m", base.withCompression("xz").withBlockSize(1L << 20)); // as nixpkgs make-squashfs
        variants.put("gzip", base.withCompression("gzip"));
        variants.put("lz4", base.withCompression("lz4"));
        variants.put("none", base.withCompression("none"));
        variants.put("zstd-4k-nofrag", base.withCompression("zstd").withBlockSize(4096L).withFragments(false));
        variants.put("gzip-4k-notail", base.withCompression("gzip").withBlockSize(4096L).withTailPacking(false));

        Map<String, Path> images = new LinkedHashMap<>();
        for (Map.Entry<String, ImageOptions> v : variants.entrySet()) {
            Path img = tmp.resolve(v.getKey() + ".squashfs");
            ImageBuild.fromDirectory(src, "squashfs", v.getValue(), img);
            images.put(v.getKey(), img);
        }
        images.put("xz-1m-incremental", incremental(src, variants.get("xz-1m"), "xz-1m"));
        images.put("zstd-4k-nofrag-incremental", incremental(src, variants.get("zstd-4k-nofrag"), "zstd-4k-nofrag"));
        KernelMounts.mountAndCompare("squashfs", src, images, MTIME);
    }

    /**
     * An image of {@code src} built with {@code --reuse} (narHashes for the top-level entries) from an image of
     * the same tree plus a first store path holding copies of two multi-block files of {@code pkg-1.0}: {@code
     * wide} is copied whole, {@code pkg-1.0} (whose duplicates' first copies are gone) is compressed with its
     * blocks found in the earlier image. Checks that both happened and that the image is the fresh build's.
     */
    private Path incremental(Path src, ImageOptions o, String name) throws IOException {
        Path old = TestTrees.rich(tmp.resolve(name + "-old-tree"), 600);
        Path first = Files.createDirectories(old.resolve("aaa-first"));
        Files.copy(old.resolve("pkg-1.0/lib/libcode.so"), first.resolve("libcode.so"));
        Files.copy(old.resolve("pkg-1.0/share/several-blocks-tail"), first.resolve("several-blocks-tail"));
        Path oldImg = withKeys(old, o, null, tmp.resolve(name + "-old.squashfs"), Events.NONE);
        List<String> notes = new ArrayList<>();
        Events ev = new Events() {
            @Override
            public synchronized void info(String m) {
                notes.add(m);
            }

            @Override
            public synchronized void warn(String m) {
                notes.add(m);
            }
        };
        Path inc = withKeys(src, o, oldImg, tmp.resolve(name + "-incremental.squashfs"), ev);
        Path fresh = withKeys(src, o, null, tmp.resolve(name + "-fresh-keys.squashfs"), Events.NONE);
        assertArrayEquals(Files.readAllBytes(fresh), Files.readAllBytes(inc), name + ": " + notes);
        assertTrue(notes.stream().anyMatch(l -> l.endsWith(": 1 of 2 store paths with data copied, 1 compressed")), notes.toString());
        assertTrue(notes.stream().anyMatch(l -> l.contains(" data blocks (") && !l.contains(": 0 data blocks")), notes.toString());
        Files.delete(fresh);
        Files.delete(oldImg);
        return inc;
    }

    /** A SquashFS image of {@code tree} whose top-level entries have narHashes (reuse keys); {@code reuse}: OLD or null. */
    private static Path withKeys(Path tree, ImageOptions o, Path reuse, Path img, Events ev) throws IOException {
        Map<String, String> nar = new TreeMap<>();
        try (var entries = Files.list(tree)) {
            entries.forEach(e -> nar.put(e.getFileName().toString(), "sha256-" + e.getFileName()));
        }
        Dir root = (Dir) TreeBuilder.scan(tree);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            new SquashfsWriter(o, ev).write(root, ch, null, nar, reuse);
        }
        return img;
    }
}
