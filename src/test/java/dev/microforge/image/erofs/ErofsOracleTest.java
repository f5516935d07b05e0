package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.image.erofs.ErofsWriter.Options;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** fsck.erofs and dump.erofs (erofs-utils 1.5) as oracles for our images. */
@Tag("oracle")
class ErofsOracleTest {
    @TempDir
    static Path tmp;

    static Path src;

    @BeforeAll
    static void fixture() throws Exception {
        src = ErofsFixtures.tree(tmp.resolve("src"), 42);
    }

    @ParameterizedTest
    // fsck.erofs 1.5 (Debian 12) reads lz4 only; zstd, lzma and deflate are proven by Erofs612MountTest and
    // refused by this fsck as ErofsCodecsTest checks
    @EnumSource(value = Compression.class, names = {"NONE", "LZ4", "LZ4HC"})
    void fsckExtractEqualsSource(Compression c) throws Exception {
        Path fsck = Tools.require("fsck.erofs");
        Path img = tmp.resolve("img-" + c + ".erofs");
        Dir root = (Dir) TreeBuilder.scan(src);
        UUID uuid = UUID.fromString("0b9d3c4e-1111-4222-8333-123456789abc");
        ErofsWriter.write(root, img, Options.defaults().withCompression(c).withThreads(2).withUuid(uuid).withMtime(1234567), Events.NONE);
        Path outDir = tmp.resolve("x-" + c);
        Exec.Result r = Exec.ok(fsck.toString(), "--extract=" + outDir, "--preserve", img.toString());
        List<String> d = ErofsFixtures.diff(src, outDir);
        assertTrue(d.isEmpty(), "fsck.erofs --extract differs from the source: " + d + "\n" + r.stderr());
        // modes are Nix's canonical ones
        assertEquals("r-xr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(outDir.resolve("aaaa-hello-1.0/bin"))));
        assertEquals("r--r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(outDir.resolve("aaaa-hello-1.0/lib/dup1"))));
        assertEquals("r-xr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(outDir.resolve("aaaa-hello-1.0/bin/hello"))));

        Path dump = Tools.require("dump.erofs");
        String s = Exec.ok(dump.toString(), "-s", img.toString()).out();
        assertTrue(s.contains(uuid.toString()), s);
        assertTrue(s.matches("(?s).*Filesystem root nid:\\s+1\\b.*"), s);
        assertTrue(s.matches("(?s).*Filesystem created:.*1970.*"), s);
        // the label as udev sees it (/dev/disk/by-label/nix-store)
        String id = Exec.ok(Tools.require("blkid").toString(), "-p", "-o", "export", img.toString()).out();
        assertTrue(id.contains("LABEL=nix-store"), id);
        assertTrue(id.contains("TYPE=erofs"), id);
        long blocks = ErofsFixtures.fsBlocks(img);
        assertTrue(s.matches("(?s).*Filesystem blocks:\\s+" + blocks + "\\b.*"), s);
    }

    /**
     * Files of several 1 MiB pipeline segments, whose read and cluster arrays the writer uses again for later
     * segments: the first file fills them with random bytes, the later ones mix text, zeros and random runs, so a
     * stale byte in front of a compressed pcluster (fsck.erofs decodes after the zeros) or behind a short plain
     * block would show in the extracted files; and the image is the same at 1 and 8 threads.
     */
    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"NONE", "LZ4", "LZ4HC"})
    void reusedSegmentArraysLeaveNoStaleBytes(Compression c) throws Exception {
        Path fsck = Tools.require("fsck.erofs");
        Path dir = tmp.resolve("segments-" + c);
        Files.createDirectories(dir);
        java.util.Random r = new java.util.Random(11);
        for (int f = 0; f < 6; f++) {
            byte[] b = new byte[3 * (1 << 20) + 1000 * f + 77];
            for (int at = 0; at < b.length; at += 65536) {
                int n = Math.min(65536, b.length - at);
                int kind = f == 0 ? 0 : r.nextInt(3);
                if (kind == 0) {
                    byte[] x = new byte[n];
                    r.nextBytes(x);
                    System.arraycopy(x, 0, b, at, n);
                } else if (kind == 1) {
                    System.arraycopy(ErofsFixtures.compressible(r, n), 0, b, at, n);
                }
            }
            Files.write(dir.resolve("f" + f), b);
        }
        Dir root = (Dir) TreeBuilder.scan(dir);
        Options o = Options.defaults().withCompression(c).withMtime(1234567);
        Path img = tmp.resolve("segments-" + c + ".erofs");
        ErofsWriter.write(root, img, o.withThreads(8), Events.NONE);
        Path one = tmp.resolve("segments-" + c + "-1.erofs");
        ErofsWriter.write(root, one, o.withThreads(1), Events.NONE);
        assertEquals(-1L, Files.mismatch(img, one), "1 and 8 threads");
        Path outDir = tmp.resolve("x-segments-" + c);
        Exec.Result x = Exec.ok(fsck.toString(), "--extract=" + outDir, img.toString());
        List<String> d = ErofsFixtures.diff(dir, outDir);
        assertTrue(d.isEmpty(), "fsck.erofs --extract differs from the source: " + d + "\n" + x.stderr());
    }

    /**
     * ztailpacking and big pclusters: fsck.erofs 1.5 extracts the source tree and dump.erofs 1.5 names the
     * features it knows (it prints big_pcluster, not ztailpacking). Fragments: fsck.erofs 1.5 predates them
     * (erofs-utils 1.6) and must refuse the image rather than extract something else; the kernel mount test
     * and our reader are their oracles.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("dev.microforge.image.erofs.ErofsVariantsTest#variants")
    void fsckExtractsEveryVariant(String name, Compression c, int pcluster, boolean ztail, boolean frag) throws Exception {
        Path fsck = Tools.require("fsck.erofs");
        Path img = tmp.resolve("variant-" + name + ".erofs");
        Dir root = (Dir) TreeBuilder.scan(src);
        ErofsWriter.write(root, img, ErofsVariantsTest.opts(c, pcluster, ztail, frag), Events.NONE);
        Path outDir = tmp.resolve("x-" + name);
        if (frag) {
            Exec.Result r = Exec.run(List.of(fsck.toString(), "--extract=" + outDir, img.toString()), null, null, 120);
            assertTrue(r.exitCode() != 0, "fsck.erofs 1.5 accepted a fragments image: " + r.out() + r.stderr());
            return;
        }
        Exec.Result r = Exec.ok(fsck.toString(), "--extract=" + outDir, "--preserve", img.toString());
        List<String> d = ErofsFixtures.diff(src, outDir);
        assertTrue(d.isEmpty(), "fsck.erofs --extract differs from the source: " + d + "\n" + r.stderr());
        String s = Exec.ok(Tools.require("dump.erofs").toString(), "-s", img.toString()).out();
        assertEquals(pcluster > 4096, s.matches("(?s).*Filesystem features:[^\n]*big_pcluster.*"), s);
        assertTrue(s.matches("(?s).*Filesystem blocks:\\s+" + ErofsFixtures.fsBlocks(img) + "\\b.*"), s);
    }
}
