package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.KernelMounts;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Linux 6.12 kernel (Debian's {@code linux-image-6.12.117+deb12-cloud-amd64}, NixOS' default kernel
 * series) mounts microforge's EROFS images: every compressor of {@link #CODECS} in every shape of {@link
 * #SHAPES} (4 KiB and big pclusters, ztailpacking, fragments), all on disks of ONE QEMU TCG boot; the guest
 * hashes every file and the manifest equals the host's and our reader's extraction (modes normalized), every
 * inode 0:0 with the image's mtime ({@code testkit.KernelMounts}, shared with the 6.1 test). One zstd image
 * with tail packing and fragments is an incremental build ({@code --reuse}, {@link ErofsKernelMountTest#incremental}).
 *
 * <p>Adding a compressor is one row of {@link #CODECS}. The rows of {@link #PENDING} are the compressors of
 * issue 20 (zstd, lzma, deflate) that the writer does not accept yet: when {@code image build --type erofs
 * --compression X} accepts X, move X's row from PENDING to CODECS. {@link
 * #everyCompressorTheWriterAcceptsIsMountedBy612} fails until that is done, naming the row, so a compressor
 * is never written without this proof and no row is ever skipped.
 */
@Tag("oracle")
class Erofs612MountTest {
    @TempDir
    Path tmp;

    static final long MTIME = 1_700_000_000L;

    /**
     * A compressor the 6.12 guest mounts: its {@code --compression} value, {@code --level} (null: the writer's
     * default) and the kernel option that decompresses it (Kconfig of fs/erofs; all {@code =y} in the 6.12
     * cloud kernel's config, which the test checks).
     */
    record Codec(String compression, Integer level, String kernelOption) {}

    /** Mounted today. */
    static final List<Codec> CODECS = List.of(
            new Codec("lz4", null, "EROFS_FS_ZIP"),
            new Codec("lz4hc", null, "EROFS_FS_ZIP"),
            new Codec("zstd", null, "EROFS_FS_ZIP_ZSTD"),     // Linux 6.10+
            new Codec("lzma", null, "EROFS_FS_ZIP_LZMA"),     // MicroLZMA, Linux 5.16+
            new Codec("deflate", null, "EROFS_FS_ZIP_DEFLATE")); // Linux 6.6+

    /** Not accepted by the writer yet: move each row to {@link #CODECS} when it is. */
    static final List<Codec> PENDING = List.of();

    /** An image layout every compressor is mounted in: name suffix, pcluster bytes, ztailpacking, fragments. */
    record Shape(String suffix, long pcluster, boolean tailPacking, boolean fragments) {}

    static final List<Shape> SHAPES = List.of(
            new Shape("", 4096, false, false),
            new Shape("-ztail-frag", 4096, true, true),
            new Shape("-64k-ztail", 65536, true, false),
            new Shape("-1m-ztail-frag", 1L << 20, true, true));

    @Test
    void kernel612MountsEveryCompressorInEveryShape() throws Exception {
        Kernel k = Kernel.require(Kernel.Series.LTS_6_12);
        for (Codec c : CODECS) {
            assertEquals("y", k.config(c.kernelOption()), k.version() + ": CONFIG_" + c.kernelOption() + " for " + c.compression());
        }
        Path src = TestTrees.rich(tmp.resolve("src"), 600);
        ErofsKernelMountTest.tailShapes(src.resolve("tails"));
        bigFiles(src.resolve("big"));
        Map<String, Path> images = ErofsKernelMountTest.build(src, variants(), tmp);
        // one incremental build (--reuse), zstd with tail packing and fragments
        images.put("zstd-ztail-frag-incremental", ErofsKernelMountTest.incremental(src, ImageOptions.defaults().withThreads(2).withMtime(MTIME)
                .withCompression("zstd").withTailPacking(true).withFragments(true), tmp, "zstd-ztail-frag-incremental"));
        for (Map.Entry<String, Path> img : images.entrySet()) {
            Path out = tmp.resolve("extract-" + img.getKey());
            try (ImageFs fs = ImageFormats.byType("erofs").open(img.getValue())) {
                Extract.extract(fs, out, Events.NONE);
            }
            TreeAssert.sameTree(src, out);
        }
        KernelMounts.mountAndCompare(k, "erofs", src, images, MTIME);
    }

    /** Each row of {@link #CODECS} in each {@link #SHAPES}: variant name to options. */
    static Map<String, ImageOptions> variants() {
        ImageOptions base = ImageOptions.defaults().withThreads(2).withMtime(MTIME);
        Map<String, ImageOptions> v = new LinkedHashMap<>();
        for (Codec c : CODECS) {
            for (Shape s : SHAPES) {
                v.put(c.compression() + s.suffix(), base.withCompression(c.compression()).withLevel(c.level())
                        .withPcluster(s.pcluster()).withTailPacking(s.tailPacking()).withFragments(s.fragments()));
            }
        }
        return v;
    }

    /**
     * The writer's compressors and this test's rows agree: each compressed EROFS compression the writer accepts
     * is a row of {@link #CODECS} (a PENDING one fails here with what to change), and no CODECS row names one it
     * refuses.
     */
    @Test
    void everyCompressorTheWriterAcceptsIsMountedBy612() {
        List<String> accepted = new ArrayList<>(ImageFormats.byType("erofs").compressions());
        accepted.remove("none");
        List<String> mounted = CODECS.stream().map(Codec::compression).toList();
        for (String c : accepted) {
            boolean pending = PENDING.stream().anyMatch(p -> p.compression().equals(c));
            assertTrue(mounted.contains(c), "erofs --compression " + c + " is written but not mounted by Linux 6.12: "
                    + (pending ? "move its row from PENDING to CODECS in Erofs612MountTest" : "add a row to Erofs612MountTest.CODECS"));
        }
        assertTrue(accepted.containsAll(mounted), "CODECS " + mounted + " names a compression the writer refuses (it writes " + accepted + ")");
    }

    /** Compressible files of several MiB, so that 64 KiB and 1 MiB pclusters hold many blocks each, and a copy of one. */
    static void bigFiles(Path dir) throws java.io.IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("text-3m"), TestTrees.text(21, 3 << 20));
        Files.write(dir.resolve("code-2m"), TestTrees.x86Code(22, (2 << 20) + 777));
        byte[] mixed = new byte[(5 << 20) / 2 + 4095];
        byte[] rnd = TestTrees.random(23, mixed.length);
        byte[] txt = TestTrees.text(24, mixed.length);
        for (int i = 0; i < mixed.length; i++) {
            mixed[i] = (i / 40_000) % 3 == 0 ? rnd[i] : txt[i];
        }
        Files.write(dir.resolve("mixed-2.5m"), mixed);
        // a duplicate of several segments and pclusters (zstd and deflate share the first one's data)
        Files.write(dir.resolve("mixed-2.5m-copy"), mixed);
    }
}
