package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.TreeAssert;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real tools read our images: unsquashfs (squashfs-tools) and rdsquashfs (squashfs-tools-ng) extract them
 * and the result equals the source tree (contents, modes, symlink targets, non-UTF-8 names); unsquashfs -s
 * agrees with our superblock; rdsquashfs finds names in a big directory (index lookups).
 */
@Tag("oracle")
class SquashfsOracleTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} block {1}")
    @CsvSource({"zstd, 131072", "xz, 1048576", "gzip, 131072", "lz4, 131072", "none, 4096", "zstd, 4096"})
    void realToolsExtractOurImages(String compression, int blockSize) throws Exception {
        Path unsquashfs = Tools.require("unsquashfs");
        Path rdsquashfs = Tools.require("rdsquashfs");
        Path src = TestTrees.rich(tmp.resolve("src"), 600);
        Path img = tmp.resolve("img.sqfs");
        ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression(compression)
                .withBlockSize((long) blockSize).withThreads(2).withMtime(1700000000L), img);

        Path out1 = tmp.resolve("unsquashfs");
        Exec.ok(unsquashfs.toString(), "-no-progress", "-d", out1.toString(), img.toString());
        TreeAssert.sameTree(src, out1);

        Path out2 = tmp.resolve("rdsquashfs");
        Files.createDirectories(out2);
        Exec.ok(rdsquashfs.toString(), "-q", "-C", "-u", "/", "-p", out2.toString(), img.toString());
        TreeAssert.sameTree(src, out2);

        Exec.Result s = Exec.ok(unsquashfs.toString(), "-s", img.toString());
        Map<String, String> theirs = parseSuperblock(s.out());
        try (ImageFs fs = SquashfsReader.open(img)) {
            Map<String, String> ours = fs.summary();
            assertEquals(ours.get("compression"), theirs.get("compression"), s.out());
            assertEquals(ours.get("block size"), theirs.get("block size"), s.out());
            assertEquals(ours.get("inodes"), theirs.get("inodes"), s.out());
            assertEquals(ours.get("fragments"), theirs.get("fragments"), s.out());
            assertEquals(ours.get("ids"), theirs.get("ids"), s.out());
            assertEquals(ours.get("bytes used"), theirs.get("bytes used"), s.out());
        }
        assertTrue(s.out().contains("Duplicates are removed"), s.out());
        if (compression.equals("xz")) {
            // --xz-bcj auto (the default): the options name the x86 filter; libcode.so's blocks use it
            assertTrue(s.out().contains("Filters selected: x86"), s.out());
            assertTrue(s.out().contains("Dictionary size " + blockSize), s.out());
        }
        assertTrue(s.out().contains("Creation or last append time Tue Nov 14 22:13:20 2023"), s.out());
        assertEquals(0, Files.size(img) % 4096, "image padded to 4 KiB");

        // lookups through the directory index of a big directory
        try (var names = Files.list(src.resolve("wide"))) {
            List<Path> some = names.sorted().toList();
            for (Path p : List.of(some.get(0), some.get(some.size() / 2), some.get(some.size() - 1))) {
                if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Exec.Result cat = Exec.ok(rdsquashfs.toString(), "-c", "/wide/" + p.getFileName(), img.toString());
                    assertEquals(Files.readString(p), cat.out());
                }
            }
        }
    }

    static Map<String, String> parseSuperblock(String text) {
        Map<String, String> m = new HashMap<>();
        put(m, text, "Compression (\\S+)", "compression");
        put(m, text, "Block size (\\d+)", "block size");
        put(m, text, "Number of inodes (\\d+)", "inodes");
        put(m, text, "Number of fragments (\\d+)", "fragments");
        put(m, text, "Number of ids (\\d+)", "ids");
        put(m, text, "Filesystem size (\\d+) bytes", "bytes used");
        return m;
    }

    private static void put(Map<String, String> m, String text, String re, String key) {
        Matcher x = Pattern.compile(re).matcher(text);
        if (x.find()) {
            m.put(key, x.group(1));
        }
    }

    @Test
    void thousandsOfTopLevelEntriesAndLargeSparseFile() throws Exception {
        Path unsquashfs = Tools.require("unsquashfs");
        Path src = Files.createDirectories(tmp.resolve("store"));
        for (int i = 0; i < 4000; i++) {
            Files.writeString(src.resolve(String.format("%032x-p%d", (i * 0x9E3779B97F4A7C15L) & Long.MAX_VALUE, i)), "p" + i % 97);
        }
        // a 64 MiB file that is all zeros except one byte: sparse blocks, extended inode
        try (var ch = java.nio.channels.FileChannel.open(src.resolve("sparse"), java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {7}), (64L << 20) - 1);
        }
        Path img = tmp.resolve("img.sqfs");
        ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression("gzip").withThreads(2), img);
        assertTrue(Files.size(img) < 2 << 20, "sparse blocks take no space: " + Files.size(img));
        Path out = tmp.resolve("out");
        Exec.ok(unsquashfs.toString(), "-no-progress", "-d", out.toString(), img.toString());
        TreeAssert.sameTree(src, out);
    }

    @Test
    void fileLargerThan4GiBUsesTheExtendedInode() throws Exception {
        Path unsquashfs = Tools.require("unsquashfs");
        Path src = Files.createDirectories(tmp.resolve("big"));
        long size = (4L << 30) + 4096 + 123;
        byte[] tail = TestTrees.random(11, 4096 + 123);
        try (var ch = java.nio.channels.FileChannel.open(src.resolve("huge"), java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(tail), size - tail.length); // sparse zeros, then data
        }
        Path img = tmp.resolve("img.sqfs");
        ImageBuild.fromDirectory(src, "squashfs", ImageOptions.defaults().withCompression("zstd").withLevel(1)
                .withBlockSize(1L << 20).withThreads(2), img);
        Exec.Result l = Exec.ok(unsquashfs.toString(), "-lls", img.toString());
        assertTrue(l.out().contains(" " + size + " "), l.out());
        try (ImageFs fs = SquashfsReader.open(img)) {
            ImageFs.FileNode f = (ImageFs.FileNode) ((ImageFs.DirNode) fs.root()).children().get(0).node();
            assertEquals(size, f.size());
            try (java.io.InputStream in = f.open()) {
                assertEquals(size - tail.length, in.skip(size - tail.length));
                org.junit.jupiter.api.Assertions.assertArrayEquals(tail, in.readAllBytes());
            }
        }
    }
}
