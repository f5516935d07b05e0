package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.Node;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsReader;
import dev.microforge.image.erofs.ErofsWriter;
import dev.microforge.image.squashfs.SquashfsReader;
import dev.microforge.store.NarWriter;
import dev.microforge.util.Events;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deep but valid trees: ls, verify's NAR walk and extract of a 3,000-level image (1,900 for extract: deeper
 * paths pass PATH_MAX) and the scans of the extracted tree that image build does, all on a thread with a 256 KiB stack: the
 * walks are iterative, so the depth does not matter (the recursive ones died with StackOverflowError).
 */
class DeepTreeTest {
    @TempDir
    Path tmp;

    static final byte[] D = {'d'};
    static final String TOP = "0123456789abcdfghijklmnpqrsvwxyz-deep";

    /** {@code depth} nested directories "d" below a root entry "top", with a file "f" ("hi") at the bottom. */
    static Dir deep(int depth) {
        Node n = new Dir(List.of(new Entry("f".getBytes(StandardCharsets.US_ASCII), RegularFile.inMemory("hi".getBytes(StandardCharsets.US_ASCII), false))));
        for (int i = 1; i < depth; i++) {
            n = new Dir(List.of(new Entry(D, n)));
        }
        return new Dir(List.of(new Entry(TOP.getBytes(StandardCharsets.US_ASCII), n)));
    }

    /** Runs {@code body} on a thread with a 256 KiB stack and rethrows what it threw. */
    static void smallStack(Body body) throws Exception {
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failed.set(e);
            }
        }, "deep", 256 << 10);
        t.start();
        t.join();
        if (failed.get() instanceof Exception e) {
            throw e;
        } else if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
    }

    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    /** Writes on a thread with a large stack: the writers are not under test here. */
    Path image(String type, Dir root) throws Exception {
        Path img = Files.createTempFile(tmp, "deep", "." + type);
        Files.delete(img);
        AtomicReference<Exception> failed = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                if (type.equals("erofs")) {
                    ErofsWriter.write(root, ch, ErofsWriter.Options.defaults().withThreads(1).withMtime(1), Events.NONE);
                } else {
                    ImageFormats.byType("squashfs").write(root, ImageOptions.defaults().withThreads(1), ch, Events.NONE);
                }
            } catch (Exception e) {
                failed.set(e);
            }
        }, "writer", 512 << 20);
        t.start();
        t.join();
        if (failed.get() != null) {
            throw failed.get();
        }
        return img;
    }

    static ImageFs open(String type, Path img) throws IOException {
        return type.equals("erofs") ? ErofsReader.open(img) : SquashfsReader.open(img);
    }

    /** The NAR of the 3000-level tree below "top", built by hand: nested directories with one entry "d". */
    static byte[] expectedNarHash(int depth) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        NarWriter w = new NarWriter(bytes);
        w.header();
        for (int i = 1; i < depth; i++) {
            w.directoryStart();
            w.entryStart(D);
        }
        w.directoryStart();
        w.entryStart(new byte[] {'f'});
        w.regular(false, 2, new java.io.ByteArrayInputStream("hi".getBytes(StandardCharsets.US_ASCII)));
        w.entryEnd();
        w.directoryEnd();
        for (int i = 1; i < depth; i++) {
            w.entryEnd();
            w.directoryEnd();
        }
        return MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray());
    }

    @Test
    void lsAndNarOf3000Levels() throws Exception {
        int depth = 3000;
        byte[] want = expectedNarHash(depth);
        for (String type : new String[] {"squashfs", "erofs"}) {
            Path img = image(type, deep(depth));
            try (ImageFs fs = open(type, img)) {
                smallStack(() -> {
                    StringWriter sw = new StringWriter();
                    Listing.list(fs, new PrintWriter(sw));
                    List<String> lines = sw.toString().lines().toList();
                    assertEquals(depth + 2, lines.size(), type);
                    assertTrue(lines.get(lines.size() - 1).endsWith("/d".repeat(depth - 1) + "/f"), type);
                    ImageFs.Node top = ((ImageFs.DirNode) fs.root()).children().get(0).node();
                    assertArrayEquals(want, Verify.nar(top).narHash().bytes(), type);
                });
            }
        }
    }

    @Test
    void extract1900Levels() throws Exception {
        int depth = 1900;
        for (String type : new String[] {"squashfs", "erofs"}) {
            Path img = image(type, deep(depth));
            Path out = tmp.resolve("x-" + type);
            try (ImageFs fs = open(type, img)) {
                smallStack(() -> Extract.extract(fs, out, Events.NONE));
            }
            Path f = out.resolve(TOP + "/d".repeat(depth - 1) + "/f");
            assertEquals("hi", Files.readString(f), type);
            // and the scans of the extracted tree that image build does, sequential and parallel
            smallStack(() -> assertEquals(depth, depthOf(TreeBuilder.scan(out.resolve(TOP)))));
            List<dev.microforge.store.StorePath> paths = List.of(dev.microforge.store.StorePath.parseBaseName("/nix/store", TOP));
            for (int threads : new int[] {1, 4}) {
                smallStack(() -> {
                    Dir root = TreeBuilder.fromStore(out, paths, java.util.Map.of(), Events.NONE, threads);
                    assertEquals(depth, depthOf(root.entries().get(0).node()));
                });
            }
        }
    }

    static int depthOf(Node n) {
        int d = 0;
        while (n instanceof Dir dir) {
            d++;
            n = dir.entries().get(0).node();
        }
        return d;
    }
}
