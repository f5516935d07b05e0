package dev.microforge.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NarTest {
    @TempDir
    Path tmp;

    /** The tree of the wire-format test: a directory, an executable, a symlink, an empty file, a non-UTF-8 name. */
    static Path smallTree(Path root) throws IOException {
        Files.createDirectories(root.resolve("sub"));
        Files.writeString(root.resolve("b"), "hello");
        Files.writeString(root.resolve("sub/x"), "");
        Path exe = Files.writeString(root.resolve("a.sh"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.createSymbolicLink(root.resolve("link"), Path.of("b"));
        Files.write(RawNames.resolve(root, new byte[] {(byte) 0xff, 'z'}), new byte[] {1});
        return root;
    }

    /** A NAR string: length as 64-bit little-endian, the bytes, zeros up to a multiple of 8. */
    static void str(ByteArrayOutputStream out, byte[] b) {
        for (int i = 0; i < 8; i++) {
            out.write((int) ((long) b.length >>> (8 * i)) & 0xff);
        }
        out.writeBytes(b);
        out.writeBytes(new byte[(8 - b.length % 8) % 8]);
    }

    /** The NAR of the sequence of tokens (Strings as UTF-8, byte[] as they are). */
    static byte[] nar(Object... tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object t : tokens) {
            str(out, t instanceof byte[] b ? b : ((String) t).getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    /**
     * The expected NAR is written out by hand from the format (entries in unsigned-byte order, "executable" with an
     * empty value, symlink targets verbatim); its size and SHA-256 are what Nix 2.8 printed for the same tree
     * ({@code nix-store --dump | wc -c}, {@code nix-hash --type sha256 [--base32]}).
     */
    @Test
    void dumpMatchesTheWireFormatAndHashIsItsSha256() throws Exception {
        Path root = smallTree(tmp.resolve("root"));
        byte[] expected = nar("nix-archive-1", "(", "type", "directory",
                "entry", "(", "name", "a.sh", "node", "(", "type", "regular", "executable", "", "contents", "#!/bin/sh\n", ")", ")",
                "entry", "(", "name", "b", "node", "(", "type", "regular", "contents", "hello", ")", ")",
                "entry", "(", "name", "link", "node", "(", "type", "symlink", "target", "b", ")", ")",
                "entry", "(", "name", "sub", "node", "(", "type", "directory",
                "entry", "(", "name", "x", "node", "(", "type", "regular", "contents", "", ")", ")", ")", ")",
                "entry", "(", "name", new byte[] {(byte) 0xff, 'z'}, "node", "(", "type", "regular", "contents", new byte[] {1}, ")", ")",
                ")");
        assertEquals(1256, expected.length, "nix-store --dump | wc -c");
        assertEquals("a334d882f50d8c845edecf3b065dd45c672edc852abd4bf5345188e2b80d0e36",
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(expected)), "nix-hash --type sha256");

        ByteArrayOutputStream actual = new ByteArrayOutputStream();
        long n = Nar.dump(root, actual);
        assertArrayEquals(expected, actual.toByteArray());
        assertEquals(1256, n);

        Nar.Info info = Nar.hash(root);
        assertEquals(1256, info.narSize());
        assertEquals("sha256:a334d882f50d8c845edecf3b065dd45c672edc852abd4bf5345188e2b80d0e36", info.narHash().toBase16());
        assertEquals("sha256:0dhf1nwf522i6kslpg9ahpf2wrswsifhcfygvrg8930dyn1dhd53", info.narHash().toNix32(), "nix-hash --type sha256 --base32");
    }

    /** The local Nix on the same trees: the small one and the image tests' rich tree (non-UTF-8, long, wide, links). */
    @Test
    @Tag("oracle")
    void sameBytesAndHashAsNix() throws Exception {
        Path nixStore = Tools.require("nix-store");
        Path nixHash = Tools.require("nix-hash");
        for (Path root : List.of(smallTree(tmp.resolve("small")), TestTrees.rich(tmp.resolve("rich"), 300))) {
            List<String> dump = List.of(nixStore.toString(), "--dump", root.toString());
            byte[] nixNar = Exec.run(dump, null, null, 300).check(dump).stdout();
            ByteArrayOutputStream ours = new ByteArrayOutputStream();
            Nar.dump(root, ours);
            assertArrayEquals(nixNar, ours.toByteArray(), root.toString());
            List<String> hash = List.of(nixHash.toString(), "--type", "sha256", "--base32", root.toString());
            String nixHash32 = Exec.run(hash, null, null, 300).check(hash).out().strip();
            Nar.Info info = Nar.hash(root);
            assertEquals("sha256:" + nixHash32, info.narHash().toNix32(), root.toString());
            assertEquals(nixNar.length, info.narSize(), root.toString());
        }
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
