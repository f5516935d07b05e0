package dev.microforge.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NarTest {
    @TempDir
    Path tmp;

    @Test
    void dumpMatchesTheWireFormatAndHashIsItsSha256() throws Exception {
        Path root = tmp.resolve("root");
        Files.createDirectories(root.resolve("sub"));
        Files.writeString(root.resolve("b"), "hello");
        Files.writeString(root.resolve("sub/x"), "");
        Path exe = Files.writeString(root.resolve("a.sh"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.createSymbolicLink(root.resolve("link"), Path.of("b"));
        Files.write(RawNames.resolve(root, new byte[] {(byte) 0xff, 'z'}), new byte[] {1});

        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        NarWriter w = new NarWriter(expected);
        w.header();
        w.directoryStart();
        // unsigned byte order: "a.sh" < "b" < "link" < "sub" < 0xff 'z'
        w.entryStart(bytes("a.sh"));
        w.regular(true, 10, new java.io.ByteArrayInputStream(bytes("#!/bin/sh\n")));
        w.entryEnd();
        w.entryStart(bytes("b"));
        w.regular(false, 5, new java.io.ByteArrayInputStream(bytes("hello")));
        w.entryEnd();
        w.entryStart(bytes("link"));
        w.symlink(bytes("b"));
        w.entryEnd();
        w.entryStart(bytes("sub"));
        w.directoryStart();
        w.entryStart(bytes("x"));
        w.regular(false, 0, new java.io.ByteArrayInputStream(new byte[0]));
        w.entryEnd();
        w.directoryEnd();
        w.entryEnd();
        w.entryStart(new byte[] {(byte) 0xff, 'z'});
        w.regular(false, 1, new java.io.ByteArrayInputStream(new byte[] {1}));
        w.entryEnd();
        w.directoryEnd();

        ByteArrayOutputStream actual = new ByteArrayOutputStream();
        long n = Nar.dump(root, actual);
        assertArrayEquals(expected.toByteArray(), actual.toByteArray());
        assertEquals(expected.size(), n);

        Nar.Info info = Nar.hash(root);
        assertEquals(expected.size(), info.narSize());
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(expected.toByteArray()), info.narHash().bytes());
    }

    @Test
    void deepTreeDoesNotOverflowTheStack() throws Exception {
        Path p = tmp.resolve("deep");
        Path cur = p;
        StringBuilder rel = new StringBuilder();
        for (int i = 0; i < 1500; i++) {
            rel.append(i == 0 ? "" : "/").append('d');
        }
        // create in chunks: paths longer than PATH_MAX cannot be made in one call
        Files.createDirectories(p);
        for (int i = 0; i < 1500; i += 500) {
            Path c = cur;
            for (int j = 0; j < 500; j++) {
                c = c.resolve("d");
            }
            Files.createDirectories(c);
            cur = c;
        }
        Nar.Info info = Nar.hash(p);
        assertEquals(true, info.narSize() > 1500 * 100);
    }

    @Test
    void fifoIsRefusedWithItsPath() throws Exception {
        Path fifo = tmp.resolve("fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        UserError e = assertThrows(UserError.class, () -> Nar.hash(fifo));
        assertEquals(fifo + ": unsupported file type (FIFO); a NAR holds only regular files, directories and symlinks", e.getMessage());
    }

    @Test
    void scannerSeesNamesAndSymlinkTargets() throws Exception {
        String h1 = "0123456789abcdfghijklmnpqrsvwxyz";
        String h2 = "zyxwvsrqpnmlkjihgfdcba9876543210";
        String h3 = "00000000000000000000000000000000";
        Path root = tmp.resolve("r");
        Files.createDirectories(root);
        Files.writeString(root.resolve(h1 + "-name"), "x");
        Files.createSymbolicLink(root.resolve("l"), Path.of("/nix/store/" + h2 + "-t"));
        ReferenceScanner sc = new ReferenceScanner(List.of(h1, h2, h3));
        Nar.hash(root, sc, dev.microforge.util.Events.NONE);
        assertEquals(List.of(h1, h2), sc.found());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
