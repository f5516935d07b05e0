package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsReader;
import dev.microforge.image.erofs.ErofsWriter;
import dev.microforge.image.squashfs.SquashfsReader;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The readers are safe for concurrent reads ({@code image verify} reads on {@code --threads} threads): 16
 * threads read files of one 4000-file image, one byte per call, and every byte must be the source's. On
 * EROFS with fragments the small files live in the packed inode, whose extent cache and lazy set-up were
 * shared without locking: wrong bytes within about 150,000 reads.
 */
class ConcurrentReadTest {
    @TempDir
    static Path tmp;

    static Path src;
    static List<byte[]> contents = new ArrayList<>();
    static List<String> names = new ArrayList<>();

    @BeforeAll
    static void fixture() throws IOException {
        src = Files.createDirectories(tmp.resolve("src"));
        Random r = new Random(13);
        for (int d = 0; d < 40; d++) {
            Path dir = Files.createDirectories(src.resolve(String.format("d%02d", d)));
            for (int f = 0; f < 100; f++) {
                // half random, half text: the packed inode gets many extents of different lengths
                byte[] b = new byte[200 + r.nextInt(3500)];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) (i < b.length / 2 ? r.nextInt(256) : "abcdefgh".charAt(r.nextInt(8)));
                }
                String name = String.format("f%03d", f);
                Files.write(dir.resolve(name), b);
                names.add(dir.getFileName() + "/" + name);
                contents.add(b);
            }
        }
    }

    @Test
    void erofsFragmentsOn16Threads() throws Exception {
        Path img = tmp.resolve("frag.erofs");
        ErofsWriter.write((Dir) TreeBuilder.scan(src), img, ErofsWriter.Options.defaults()
                .withCompression(ErofsWriter.Compression.LZ4).withFragments(true).withThreads(2).withMtime(1), Events.NONE);
        try (ErofsReader r = ErofsReader.open(img)) {
            assertTrue(r.summary().containsKey("packed nid"), r.summary().toString());
            hammer(r, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 12_000_000, 20);
        }
    }

    /** Files in different fragment blocks (8 are cached). */
    @Test
    void squashfsOn16Threads() throws Exception {
        Path img = tmp.resolve("img.sqfs");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ImageFormats.byType("squashfs").write((Dir) TreeBuilder.scan(src), ImageOptions.defaults().withThreads(2), ch, Events.NONE);
        }
        try (SquashfsReader r = SquashfsReader.open(img)) {
            hammer(r, new int[] {0, 500, 1000, 1500, 2000, 2500, 3000, 3500}, 2_000_000, 10);
        }
    }

    /**
     * 16 threads, each with its own walk of the tree (so directories are listed concurrently too), read the
     * files {@code picks} at random, one byte per call (every call goes through the reader's caches), until
     * {@code maxReads} calls in all or {@code seconds} have passed; fails on the first wrong byte or reader
     * exception. The races are narrow (a few instructions), so they need many calls to show.
     */
    static void hammer(ImageFs fs, int[] picks, long maxReads, int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        int threads = 16;
        AtomicLong reads = new AtomicLong();
        AtomicReference<String> wrong = new AtomicReference<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                futures.add(pool.submit(() -> {
                    Random rnd = new Random(seed);
                    List<ImageFs.FileNode> files = files(fs);
                    while (reads.get() < maxReads && wrong.get() == null && System.nanoTime() < deadline) {
                        int i = picks[rnd.nextInt(picks.length)];
                        byte[] want = contents.get(i);
                        byte[] got = new byte[want.length];
                        int p = 0;
                        try (InputStream in = files.get(i).open()) {
                            int b;
                            while ((b = in.read()) >= 0) {
                                if (p == got.length) {
                                    wrong.compareAndSet(null, names.get(i) + ": more bytes than the source");
                                    return null;
                                }
                                got[p++] = (byte) b;
                            }
                        }
                        reads.addAndGet(p);
                        if (!Arrays.equals(want, got)) {
                            wrong.compareAndSet(null, names.get(i) + ": wrong bytes after " + reads.get() + " reads");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(null, wrong.get(), "concurrent reads on " + threads + " threads (" + reads.get() + " reads)");
        assertTrue(reads.get() >= 1_000_000, reads.get() + " reads");
        System.out.println(fs.type() + ": " + reads.get() + " one-byte reads on " + threads + " threads, all right");
    }

    /** The files in source order (d00/f000, d00/f001, ...), found by a fresh walk of the image. */
    static List<ImageFs.FileNode> files(ImageFs fs) throws IOException {
        List<ImageFs.FileNode> out = new ArrayList<>();
        for (ImageFs.Child d : ((ImageFs.DirNode) fs.root()).children()) {
            for (ImageFs.Child f : ((ImageFs.DirNode) d.node()).children()) {
                String n = RawNames.display(d.name()) + "/" + new String(f.name(), StandardCharsets.UTF_8);
                assertEquals(names.get(out.size()), n);
                out.add((ImageFs.FileNode) f.node());
            }
        }
        assertEquals(names.size(), out.size());
        return out;
    }
}
