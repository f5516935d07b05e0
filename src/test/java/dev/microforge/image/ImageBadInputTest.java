package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.Symlink;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt images are bad input (exit 2, one line naming the image), and extract stays inside its target. */
class ImageBadInputTest {
    @TempDir
    Path tmp;

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A small tree: /top/{file, ln -> abcdefgh-target}. */
    static Dir tree() {
        Dir top = Dir.sorted(List.of(
                new Entry(ascii("file"), RegularFile.inMemory(ascii("hello"), false)),
                new Entry(ascii("ln"), new Symlink(ascii("abcdefgh-target")))));
        return new Dir(List.of(new Entry(ascii("top"), top)));
    }

    Path write(String type, Dir root, String name) throws IOException {
        return write(type, root, name, ErofsWriter.Compression.NONE);
    }

    /** SquashFS with the default compression; EROFS with {@code c} (NONE: the metadata is easy to patch). */
    Path write(String type, Dir root, String name, ErofsWriter.Compression c) throws IOException {
        Path img = tmp.resolve(name);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (type.equals("erofs")) {
                ErofsWriter.write(root, ch, ErofsWriter.Options.defaults().withCompression(c)
                        .withThreads(1).withMtime(1), Events.NONE);
            } else {
                ImageFormats.byType(type).write(root, ImageOptions.defaults().withThreads(1), ch, Events.NONE);
            }
        }
        return img;
    }

    static void assertCorrupt(Cli.Result r, Path img, String what) {
        assertEquals(2, r.exitCode(), img + ": " + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("microforge: " + img + ": corrupt image: "), r.err());
        assertTrue(r.err().contains(what), r.err());
    }

    @Test
    void truncatedImagesExit2NamingTheImage() throws Exception {
        for (String type : new String[] {"squashfs", "erofs"}) {
            Path img = write(type, tree(), "t." + type);
            byte[] b = Files.readAllBytes(img);
            Files.write(img, Arrays.copyOf(b, type.equals("erofs") ? 4096 : 200));
            assertCorrupt(Cli.run("image", "ls", img.toString()), img, type.equals("erofs") ? "blocks" : "bytes used");
            Path out = tmp.resolve("out-" + type);
            assertCorrupt(Cli.run("image", "extract", img.toString(), out.toString()), img, "");
        }
    }

    /**
     * 4 KiB (SquashFS) and 12 KiB (EROFS) images of a 40-level chain whose every level lists the next directory twice
     * (as {@code a} and {@code b}): 2^40 paths. ls and verify ran for ever and extract wrote until the disk was full;
     * a directory listed twice is corrupt (each directory has exactly one entry naming it: a tree, not a DAG).
     */
    @Test
    void directoryListedTwiceIsCorruptNotABomb() throws Exception {
        // the images' one store path (its narHash is never reached: the walk stops at the first level listed twice)
        Path closure = Files.writeString(tmp.resolve("c.json"), "[{\"path\":\"/nix/store/ffffffffffffffffffffffffffffffff-bomb\","
                + "\"narHash\":\"sha256-Hds6bj6FCuym8Q8v3ftwGLG7mqgeEu7rauv15x4HNOc=\",\"narSize\":13728,\"references\":[]}]");
        for (String name : new String[] {"bomb40.squashfs", "bomb40.erofs"}) {
            Path img = Path.of(Tools.projectRoot().toString(), "src/test/resources/image/dag", name);
            Path out = tmp.resolve("out-" + name);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
                assertCorrupt(Cli.run("image", "ls", img.toString()), img, "listed twice");
                assertCorrupt(Cli.run("image", "extract", img.toString(), out.toString()), img, "listed twice");
                assertCorrupt(Cli.run("image", "verify", img.toString(), "--closure", closure.toString()), img,
                        "listed twice");
            });
            assertFalse(Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS), "no half-written output");
        }
    }

    /** A symlink target with NUL was extracted truncated; now it is corrupt, named with its path in the image. */
    @Test
    void nulInSymlinkTarget() throws Exception {
        Path img = write("erofs", tree(), "nul.erofs");
        byte[] b = Files.readAllBytes(img);
        byte[] t = ascii("abcdefgh-target");
        int at = indexOf(b, t);
        assertTrue(at > 0);
        b[at + 3] = 0;
        Files.write(img, b);
        assertCorrupt(Cli.run("image", "ls", img.toString()), img, "symlink target contains NUL, at /top");
        Path out = tmp.resolve("out");
        assertCorrupt(Cli.run("image", "extract", img.toString(), out.toString()), img, "symlink target contains NUL");
        assertFalse(Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS), "no half-written output");
        Path existing = Files.createDirectory(tmp.resolve("existing"));
        assertCorrupt(Cli.run("image", "extract", img.toString(), existing.toString()), img, "symlink target contains NUL");
        try (Stream<Path> s = Files.list(existing)) {
            assertEquals(0, s.count(), "an existing target is emptied again");
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** 64 MiB of zeros in a small image: extract writes holes (it wrote all 64 MiB). */
    @Test
    void sparseFilesExtractAsHoles() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/top"));
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("zeros").toFile(), "rw")) {
            f.setLength(64 << 20);
        }
        byte[] mixed = new byte[3 * 4096 + 100];
        Arrays.fill(mixed, 4096, 8192, (byte) 7);
        mixed[mixed.length - 1] = 1;
        Files.write(src.resolve("mixed"), mixed);
        for (String type : new String[] {"squashfs", "erofs"}) {
            Path img = write(type, (Dir) TreeBuilder.scan(src.getParent()), "sparse." + type, ErofsWriter.Compression.LZ4);
            assertTrue(Files.size(img) < (1 << 20), type + ": " + Files.size(img));
            Path out = tmp.resolve("x-" + type);
            Cli.Result r = Cli.run("image", "extract", img.toString(), out.toString());
            assertEquals(0, r.exitCode(), r.err());
            Path zeros = out.resolve("top/zeros");
            assertEquals(64 << 20, Files.size(zeros));
            long allocated = blocks(zeros) * 512;
            assertTrue(allocated <= 64 << 10, type + ": " + allocated + " bytes allocated for a 64 MiB hole");
            try (InputStream in = Files.newInputStream(zeros)) {
                byte[] buf = new byte[1 << 20];
                int n;
                while ((n = in.read(buf)) > 0) {
                    for (int i = 0; i < n; i++) {
                        assertEquals(0, buf[i]);
                    }
                }
            }
            assertTrue(Arrays.equals(mixed, Files.readAllBytes(out.resolve("top/mixed"))), type);
        }
    }

    /** st_blocks, from stat(1). */
    static long blocks(Path p) throws Exception {
        Process pr = new ProcessBuilder("stat", "-c", "%b", p.toString()).redirectErrorStream(true).start();
        String s = new String(pr.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertEquals(0, pr.waitFor(), s);
        return Long.parseLong(s);
    }

    @Test
    void existingTargetKeepsItsMode() throws Exception {
        Path img = write("squashfs", tree(), "m.sqfs");
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwx------"));
        Cli.Result r = Cli.run("image", "extract", img.toString(), out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        assertEquals("hello", Files.readString(out.resolve("top/file")));
    }

    /** A reader that returned '..', '/' or NUL in a name must not make extract write outside its target. */
    @Test
    void extractRefusesUnsafeNames() throws Exception {
        for (String bad : new String[] {"..", ".", "a/b", "x\0y", ""}) {
            Path target = Files.createDirectory(tmp.resolve("t" + Math.abs(bad.hashCode())));
            ImageFs fs = fakeWithChild(ascii(bad));
            CorruptImageException e = assertThrows(CorruptImageException.class, () -> Extract.extract(fs, target, Events.NONE));
            assertTrue(e.getMessage().contains("unsafe entry name"), e.getMessage());
            try (Stream<Path> s = Files.list(target)) {
                assertEquals(0, s.count(), bad);
            }
            try (Stream<Path> s = Files.list(tmp)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().equals("evil")), bad);
            }
        }
    }

    /** An image whose root holds one directory named {@code name} containing a file "evil". */
    static ImageFs fakeWithChild(byte[] name) {
        ImageFs.FileNode evil = new ImageFs.FileNode() {
            public int mode() {
                return 0644;
            }

            public int uid() {
                return 0;
            }

            public int gid() {
                return 0;
            }

            public long mtime() {
                return 0;
            }

            public long size() {
                return 4;
            }

            public InputStream open() {
                return new ByteArrayInputStream(ascii("evil"));
            }
        };
        ImageFs.DirNode sub = dir(List.of(new ImageFs.Child(ascii("evil"), evil)));
        ImageFs.DirNode root = dir(List.of(new ImageFs.Child(name, sub)));
        return new ImageFs() {
            public String type() {
                return "fake";
            }

            public ImageFs.Node root() {
                return root;
            }

            public Map<String, String> summary() {
                return Map.of();
            }

            public void close() {}
        };
    }

    static ImageFs.DirNode dir(List<ImageFs.Child> children) {
        return new ImageFs.DirNode() {
            public int mode() {
                return 0755;
            }

            public int uid() {
                return 0;
            }

            public int gid() {
                return 0;
            }

            public long mtime() {
                return 0;
            }

            public List<ImageFs.Child> children() {
                return children;
            }
        };
    }
}
