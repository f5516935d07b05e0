package dev.microforge.image;

import dev.microforge.testkit.KernelMounts;
import dev.microforge.testkit.TestTrees;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Debian 6.1 kernel mounts microforge's EROFS images: uncompressed, lz4 and lz4hc; ztailpacking,
 * fragments (microvm.nix's default {@code -zlz4hc -Eztailpacking -Efragments}) and big pclusters, all on disks
 * of ONE QEMU TCG boot; the guest hashes every file and the manifest equals the host's (modes normalized as the
 * reproducibility rules say), and every inode is 0:0 with the image's mtime. (The volume label is not a kernel
 * matter: busybox-static has no blkid; dump.erofs/blkid check it on the host.) One lz4hc image is an
 * incremental build ({@code --reuse}, {@link #incremental}).
 */
@Tag("oracle")
class ErofsKernelMountTest {
    @TempDir
    Path tmp;

    static final long MTIME = 1_700_000_000L;

    /**
     * What Debian's 6.1 decompresses (CONFIG_EROFS_FS_ZIP=y, EROFS_FS_ZIP_LZMA not set, no deflate or zstd in
     * 6.1): zstd, lzma and deflate images are mounted by {@link Erofs612MountTest}.
     */
    static final List<String> LINUX_6_1_COMPRESSIONS = List.of("lz4hc", "lz4", "none");

    @Test
    void kernelMountsEveryVariantAndSeesTheSameFiles() throws Exception {
        Path src = TestTrees.rich(tmp.resolve("src"), 600);
        tailShapes(src.resolve("tails"));
        ImageOptions base = ImageOptions.defaults().withThreads(2).withMtime(MTIME);
        Map<String, ImageOptions> variants = new LinkedHashMap<>();
        for (String c : LINUX_6_1_COMPRESSIONS) {
            variants.put(c, base.withCompression(c));
        }
        variants.put("lz4-ztail", base.withCompression("lz4").withTailPacking(true));
        variants.put("lz4hc-ztail", base.withCompression("lz4hc").withTailPacking(true));
        variants.put("lz4-frag", base.withCompression("lz4").withFragments(true));
        variants.put("lz4hc-ztail-frag", base.withCompression("lz4hc").withTailPacking(true).withFragments(true));
        variants.put("lz4hc-16k", base.withCompression("lz4hc").withPcluster(16384L));
        variants.put("lz4-64k-ztail", base.withCompression("lz4").withPcluster(65536L).withTailPacking(true));
        variants.put("lz4hc-64k-ztail-frag", base.withCompression("lz4hc").withPcluster(65536L).withTailPacking(true).withFragments(true));
        Map<String, Path> images = build(src, variants, tmp);
        images.put("lz4hc-incremental", incremental(src, base.withCompression("lz4hc"), tmp, "lz4hc-incremental"));
        KernelMounts.mountAndCompare("erofs", src, images, MTIME);
    }

    /**
     * An incremental image of {@code src} ({@code image build --reuse}): the earlier image holds an extra first
     * store path (so every copied path lands elsewhere) and {@code tails} under another narHash (compressed
     * again); the result must equal the fresh build of {@code src} byte for byte and have copied store paths.
     */
    static Path incremental(Path src, ImageOptions o, Path dir, String name) throws java.io.IOException {
        Path extra = src.resolve("0-extra");
        java.nio.file.Files.createDirectories(extra);
        java.nio.file.Files.write(extra.resolve("data"), TestTrees.text(77, 300_000));
        java.nio.file.Files.write(extra.resolve("small"), TestTrees.text(78, 900));
        Path old = dir.resolve(name + "-old.erofs");
        writeWithReuse(src, o, old, narHashes(src, "old"), null, dev.microforge.util.Events.NONE);
        java.nio.file.Files.delete(extra.resolve("data"));
        java.nio.file.Files.delete(extra.resolve("small"));
        java.nio.file.Files.delete(extra);
        Path fresh = dir.resolve(name + "-fresh.erofs");
        writeWithReuse(src, o, fresh, narHashes(src, "new"), null, dev.microforge.util.Events.NONE);
        Path inc = dir.resolve(name + ".erofs");
        List<String> notes = new java.util.ArrayList<>();
        writeWithReuse(src, o, inc, narHashes(src, "new"), old, new dev.microforge.util.Events() {
            @Override
            public synchronized void info(String m) {
                notes.add(m);
            }

            @Override
            public synchronized void warn(String m) {
                notes.add(m);
            }
        });
        org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(fresh), java.nio.file.Files.readAllBytes(inc),
                name + ": incremental and fresh differ " + notes);
        org.junit.jupiter.api.Assertions.assertTrue(notes.stream().anyMatch(l -> l.matches(".*: [1-9][0-9]* of [0-9]+ store paths with data copied.*")),
                name + ": " + notes);
        java.nio.file.Files.delete(old);
        java.nio.file.Files.delete(fresh);
        return inc;
    }

    /** A narHash per top-level entry of {@code src}; {@code tails}' depends on {@code version}. */
    private static Map<String, String> narHashes(Path src, String version) throws java.io.IOException {
        Map<String, String> m = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(src)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                m.put(n, "sha256-" + n + (n.equals("tails") ? "-" + version : ""));
            }
        }
        return m;
    }

    private static void writeWithReuse(Path src, ImageOptions o, Path img, Map<String, String> narHashes, Path reuse,
            dev.microforge.util.Events ev) throws java.io.IOException {
        write(ImageFormats.byType("erofs"), (dev.microforge.fs.Dir) dev.microforge.fs.TreeBuilder.scan(src), o, img, narHashes, reuse, ev);
    }

    private static <O extends Record> void write(ImageFormat<O> f, dev.microforge.fs.Dir root, ImageOptions o, Path img,
            Map<String, String> narHashes, Path reuse, dev.microforge.util.Events ev) throws java.io.IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            f.write(root, f.options(o), ch, null, ev, narHashes, reuse);
        }
    }

    /** Builds one EROFS image of {@code src} per variant into {@code dir}: variant name to image file. */
    static Map<String, Path> build(Path src, Map<String, ImageOptions> variants, Path dir) throws java.io.IOException {
        Map<String, Path> images = new LinkedHashMap<>();
        for (Map.Entry<String, ImageOptions> v : variants.entrySet()) {
            Path img = dir.resolve(v.getKey() + ".erofs");
            ImageBuild.fromDirectory(src, "erofs", v.getValue(), img);
            images.put(v.getKey(), img);
        }
        return images;
    }

    /**
     * Compressible files whose compressed runs end anywhere in a block, so that a last uncompressed extent
     * starts mid-lcluster: Linux refuses one that then crosses into the next lcluster (EFSCORRUPTED, found
     * with lz4 on {@code several-blocks-tail}; these shapes also hit it with lz4hc).
     */
    static void tailShapes(Path dir) throws java.io.IOException {
        java.nio.file.Files.createDirectories(dir);
        java.util.Random r = new java.util.Random(11);
        for (int k = 0; k < 40; k++) {
            Path f = dir.resolve(String.format("t%02d", k));
            java.nio.file.Files.write(f, TestTrees.text(100 + k, 4096 + r.nextInt(60_000)));
            java.nio.file.Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
        }
    }
}
