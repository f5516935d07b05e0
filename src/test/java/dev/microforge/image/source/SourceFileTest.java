package dev.microforge.image.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.microforge.fs.RegularFile;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SourceFile reads what the scan saw, or fails with one line naming the file: a file removed, replaced by a FIFO
 * or a symlink, grown or shrunk after the scan (each is exactly the message of the contract).
 */
class SourceFileTest {
    @TempDir
    Path tmp;

    private RegularFile scanned(Path p) throws IOException {
        return RegularFile.onDisk(p, Files.size(p), false);
    }

    private static String message(RegularFile f, ThrowingRead read) {
        UserError e = assertThrows(UserError.class, () -> {
            try (SourceFile in = SourceFile.open(f)) {
                read.run(in);
            }
        });
        return e.getMessage();
    }

    interface ThrowingRead {
        void run(SourceFile in) throws IOException;
    }

    private static void readAll(SourceFile in) throws IOException {
        byte[] b = new byte[(int) in.file().size()];
        in.readFully(b, 0, b.length);
        in.expectEnd();
    }

    @Test
    void readsSequentiallyAndAtOffsetsFromDiskAndMemory() throws Exception {
        byte[] content = TestTrees.random(3, 300_000);
        Path p = Files.write(tmp.resolve("f"), content);
        for (RegularFile f : new RegularFile[] {scanned(p), RegularFile.inMemory(content, false)}) {
            try (SourceFile in = SourceFile.open(f, 1000)) {
                byte[] b = new byte[5000];
                in.readFully(b, 0, 5000);
                assertArrayEquals(Arrays.copyOfRange(content, 1000, 6000), b);
                assertEquals(6000, in.position());
                in.readAt(299_000, b, 10, 1000);
                assertArrayEquals(Arrays.copyOfRange(content, 299_000, 300_000), Arrays.copyOfRange(b, 10, 1010));
                byte[] rest = new byte[300_000 - 6000];
                in.readFully(rest, 0, rest.length);
                assertArrayEquals(Arrays.copyOfRange(content, 6000, 300_000), rest);
                in.expectEnd();
            }
        }
    }

    @Test
    void vanishedFile() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[100]);
        RegularFile f = scanned(p);
        Files.delete(p);
        assertEquals(p + ": file vanished during the build", message(f, SourceFileTest::readAll));
    }

    @Test
    void fifoSwappedInIsRefusedWithoutHanging() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[100]);
        RegularFile f = scanned(p);
        Files.delete(p);
        Exec.ok("mkfifo", p.toString());
        String m = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> message(f, SourceFileTest::readAll));
        assertEquals(p + ": no longer a regular file (changed during the build)", m);
    }

    @Test
    void symlinkSwappedInIsNotFollowed() throws Exception {
        byte[] content = new byte[100];
        Path p = Files.write(tmp.resolve("f"), content);
        Files.write(tmp.resolve("target"), content); // same size: following the link would read it happily
        RegularFile f = scanned(p);
        Files.delete(p);
        Files.createSymbolicLink(p, tmp.resolve("target"));
        assertEquals(p + ": no longer a regular file (changed during the build)", message(f, SourceFileTest::readAll));
    }

    @Test
    void directorySwappedIn() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[100]);
        RegularFile f = scanned(p);
        Files.delete(p);
        Files.createDirectory(p);
        assertEquals(p + ": no longer a regular file (changed during the build)", message(f, SourceFileTest::readAll));
    }

    @Test
    void grownOrShrunkBeforeOpen() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[1000]);
        RegularFile f = scanned(p);
        Files.write(p, new byte[1500]);
        assertEquals(p + ": file changed size during the build (expected 1000 bytes, found 1500)",
                message(f, SourceFileTest::readAll));
        Files.write(p, new byte[400]);
        assertEquals(p + ": file changed size during the build (expected 1000 bytes, found only 400)",
                message(f, SourceFileTest::readAll));
    }

    @Test
    void grownOrShrunkWhileRead() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[100_000]);
        RegularFile f = scanned(p);
        String grew = message(f, in -> {
            byte[] b = new byte[100_000];
            in.readFully(b, 0, 50_000);
            Files.write(p, new byte[10], StandardOpenOption.APPEND);
            in.readFully(b, 50_000, 50_000);
            in.expectEnd();
        });
        assertEquals(p + ": file changed size during the build (expected 100000 bytes, it has more now)", grew);
        Files.write(p, new byte[100_000]);
        String shrank = message(f, in -> {
            byte[] b = new byte[100_000];
            in.readFully(b, 0, 50_000);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(70_000);
            }
            in.readFully(b, 50_000, 50_000);
        });
        assertEquals(p + ": file changed size during the build (expected 100000 bytes, found only 70000)", shrank);
    }

    @Test
    void positionOutsideTheFileIsAProgrammingError() throws Exception {
        Path p = Files.write(tmp.resolve("f"), new byte[10]);
        RegularFile f = scanned(p);
        assertThrows(IllegalArgumentException.class, () -> SourceFile.open(f, 11));
        assertThrows(IllegalArgumentException.class, () -> SourceFile.open(f, -1));
    }
}
