package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.ImageOptions;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image data goes through a second, O_DIRECT channel when the writer is given the output's path: the same
 * bytes as through the channel alone, also when the direct channel cannot be opened (buffered fallback), for
 * images spanning several 1 MiB output buffers.
 */
class SquashfsDirectOutputTest {
    @TempDir
    Path tmp;

    private byte[] write(Dir root, String name, boolean givePath, String compression) throws Exception {
        Path img = tmp.resolve(name);
        ImageOptions o = ImageOptions.defaults().withCompression(compression).withThreads(2).withMtime(0);
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            // a path that cannot be opened stands for a file system without direct I/O
            new SquashfsWriter(o, Events.NONE).write(root, ch, givePath ? img : tmp.resolve("missing/" + name));
        }
        return Files.readAllBytes(img);
    }

    @Test
    void directBufferedAndFallbackGiveTheSameBytes() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.write(src.resolve("big"), TestTrees.random(1, (3 << 20) + 12345));
        Files.write(src.resolve("d/mid"), TestTrees.random(2, 700_000));
        Files.write(src.resolve("d/small"), TestTrees.random(3, 999));
        Files.write(src.resolve("zeros"), new byte[1 << 20]);
        Dir root = (Dir) TreeBuilder.scan(src);
        for (String c : new String[] {"none", "lz4"}) {
            Path plain = tmp.resolve("plain-" + c + ".img");
            try (FileChannel ch = FileChannel.open(plain, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                new SquashfsWriter(ImageOptions.defaults().withCompression(c).withThreads(2).withMtime(0), Events.NONE).write(root, ch);
            }
            byte[] reference = Files.readAllBytes(plain);
            assertEquals(0, reference.length % 4096);
            assertArrayEquals(reference, write(root, "direct-" + c + ".img", true, c));
            assertArrayEquals(reference, write(root, "fallback-" + c + ".img", false, c));
        }
    }
}
