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
 * matter: busybox-static has no blkid; dump.erofs/blkid check it on the host.)
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
        KernelMounts.mountAndCompare("erofs", src, build(src, variants, tmp), MTIME);
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
