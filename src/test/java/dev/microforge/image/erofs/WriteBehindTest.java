package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.TestTrees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The EROFS writer's write-behind flushes: the file's bytes are those written; a failed flush fails the build. */
class WriteBehindTest {
    @TempDir
    Path tmp;

    @Test
    void flushesWhileWritingLeaveTheBytesWritten() throws Exception {
        byte[] data = TestTrees.random(5, 3 << 20);
        Path f = tmp.resolve("out");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                WriteBehind wb = new WriteBehind(ch, 4096)) {
            // written back to front in 4 KiB pieces, a flush asked for after each
            for (int at = data.length - 4096; at >= 0; at -= 4096) {
                ByteBuffer b = ByteBuffer.wrap(data, at, 4096); // its position is the file's
                while (b.hasRemaining()) {
                    ch.write(b, b.position());
                }
                wb.wrote(4096);
            }
            wb.finish();
        }
        assertArrayEquals(data, Files.readAllBytes(f));
    }

    @Test
    void aFailedFlushIsTheBuildsError() throws Exception {
        Path f = tmp.resolve("out");
        FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        ch.close();
        try (WriteBehind wb = new WriteBehind(ch, 1)) {
            wb.wrote(1);
            IOException e = assertThrows(IOException.class, wb::finish);
            assertTrue(e.getMessage().startsWith("cannot write the image"), e.getMessage());
        }
    }
}
