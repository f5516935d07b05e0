package dev.microforge.image;

import dev.microforge.testkit.KernelMounts;
import dev.microforge.testkit.TestTrees;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Debian 6.1 kernel mounts microforge's SquashFS images: every compressor, small and large blocks,
 * fragments on and off, all on disks of ONE QEMU TCG boot; the guest hashes every file and the manifest
 * equals the host's (modes normalized as the reproducibility rules say), and every inode is 0:0 with the
 * image's one mtime.
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
        KernelMounts.mountAndCompare("squashfs", src, images, MTIME);
    }
}
