package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackgroundWriterTest {
    @TempDir
    Path tmp;

    private static void direct(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    /** Ranges land where they were asked to, in order (a later range over an earlier one wins), past a small queue. */
    @Test
    void writesInOrderAtTheirPositions() throws Exception {
        Random r = new Random(7);
        byte[] expected = new byte[1 << 20];
        Path f = tmp.resolve("out");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                BackgroundWriter w = new BackgroundWriter(ch, 10_000, BackgroundWriterTest::direct)) {
            for (int k = 0; k < 2000; k++) {
                int len = r.nextInt(30_000);
                int pos = r.nextInt(expected.length - len);
                byte[] b = new byte[len + 10];
                r.nextBytes(b);
                w.write(b, 5, len, pos);
                System.arraycopy(b, 5, expected, pos, len);
            }
            w.write(new byte[0], 0, 0, 0);
            w.flush();
            // the file ends at the last byte written; the rest of expected is zeros
            byte[] got = java.util.Arrays.copyOf(Files.readAllBytes(f), expected.length);
            assertArrayEquals(expected, got);
        }
    }

    /** A failed write is thrown by the next call, and the caller never hangs on a full queue. */
    @Test
    void failureReachesTheCaller() throws Exception {
        Path f = tmp.resolve("ro");
        Files.write(f, new byte[10]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ);
                BackgroundWriter w = new BackgroundWriter(ch, 4096, (c, b, pos) -> {
                    try {
                        direct(c, b, pos);
                    } catch (java.nio.channels.NonWritableChannelException e) {
                        throw new IOException("cannot write the image: not writable", e);
                    }
                })) {
            IOException e = assertThrows(IOException.class, () -> {
                for (int k = 0; k < 100; k++) {
                    w.write(new byte[4096], 0, 4096, k * 4096L);
                }
                w.flush();
            });
            assertTrue(e.getMessage().contains("not writable"), e.getMessage());
            assertThrows(IOException.class, w::flush);
        }
    }
}
