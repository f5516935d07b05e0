package dev.microforge.image.erofs;

import dev.microforge.util.RawNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/** A source tree with the shapes that matter for EROFS, and a comparison of two trees by raw bytes. */
final class ErofsFixtures {
    private ErofsFixtures() {}

    static byte[] compressible(Random r, int len) {
        String[] words = {"/nix/store/", "glibc-2.37", "lib", "ELF", "\0\0\0\0", "x86_64-linux", "libc.so.6", " ", "\n", "GLIBC_2.2.5"};
        byte[] b = new byte[len];
        int p = 0;
        while (p < len) {
            byte[] w = r.nextInt(8) == 0 ? new byte[] {(byte) r.nextInt(256)} : words[r.nextInt(words.length)].getBytes(StandardCharsets.ISO_8859_1);
            int n = Math.min(w.length, len - p);
            System.arraycopy(w, 0, b, p, n);
            p += n;
        }
        return b;
    }

    static void file(Path p, byte[] data, boolean exec) throws IOException {
        Files.write(p, data);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(exec ? "r-xr-xr-x" : "r--r--r--"));
    }

    /** Builds the fixture tree under {@code root} (which must not exist). */
    static Path tree(Path root, long seed) throws IOException {
        Random r = new Random(seed);
        Files.createDirectories(root);
        Path store = root;
        Path a = Files.createDirectories(store.resolve("aaaa-hello-1.0"));
        Files.createDirectories(a.resolve("bin"));
        Files.createDirectories(a.resolve("lib/deep/er/still"));
        Files.createDirectories(a.resolve("empty"));
        file(a.resolve("bin/hello"), compressible(r, 150_000), true);
        file(a.resolve("lib/libhello.so"), compressible(r, 3 * 1024 * 1024 + 12345), false); // several segments
        byte[] rnd = new byte[200_000];
        r.nextBytes(rnd);
        file(a.resolve("lib/random.bin"), rnd, false); // incompressible
        byte[] mixed = new byte[70_000];
        r.nextBytes(mixed);
        System.arraycopy(compressible(r, 30_000), 0, mixed, 20_000, 30_000);
        file(a.resolve("lib/mixed.bin"), mixed, false);
        // compressible, then an incompressible tail: the last extents are stored raw and the very last one
        // must not cross into the partial last lcluster (the 6.1 kernel refuses that)
        for (int k = 0; k < 6; k++) {
            byte[] head = compressible(r, 30_000 + 977 * k);
            byte[] tail = new byte[5_000 + 1_333 * k];
            r.nextBytes(tail);
            byte[] both = Arrays.copyOf(head, head.length + tail.length);
            System.arraycopy(tail, 0, both, head.length, tail.length);
            file(a.resolve("lib/tail-random-" + k), both, false);
        }
        for (int len : new int[] {0, 1, 31, 4000, 4031, 4032, 4033, 4064, 4095, 4096, 4097, 8191, 8192, 12289}) {
            file(a.resolve("lib/deep/size-" + len), compressible(r, len), len % 2 == 0);
            byte[] rb = new byte[len];
            r.nextBytes(rb);
            file(a.resolve("lib/deep/er/rnd-" + len), rb, false);
        }
        file(a.resolve("lib/deep/er/still/zeros"), new byte[1 << 20], false);
        // duplicates
        byte[] dup = compressible(r, 40_000);
        file(a.resolve("lib/dup1"), dup, false);
        file(a.resolve("lib/dup2"), dup, false);
        file(a.resolve("bin/dup3"), dup, true);
        // symlinks: short, relative, long (not inlinable)
        Files.createSymbolicLink(a.resolve("bin/hi"), Path.of("hello"));
        Files.createSymbolicLink(a.resolve("lib/abs"), Path.of("/nix/store/aaaa-hello-1.0/lib/libhello.so"));
        Files.createSymbolicLink(a.resolve("lib/long"), Path.of("x".repeat(200) + "/" + "y".repeat(250) + ("/" + "z".repeat(250)).repeat(14)));
        Files.createSymbolicLink(a.resolve("lib/dangling"), Path.of("../nowhere"));
        // names: non-UTF-8, sorting before '.', max length
        Path odd = Files.createDirectories(store.resolve("bbbb-names"));
        file(RawNames.resolve(odd, new byte[] {'b', 'a', 'd', (byte) 0xff, (byte) 0xfe}), "latin".getBytes(StandardCharsets.UTF_8), false);
        file(odd.resolve("-dash"), new byte[] {1}, false);
        file(odd.resolve("!bang"), new byte[] {2}, false);
        file(odd.resolve("+plus"), new byte[] {3}, false);
        file(odd.resolve("\u00e9t\u00e9"), new byte[] {4}, false);
        file(odd.resolve("n".repeat(255)), new byte[] {5}, false);
        // a directory with many entries (several dirent blocks)
        Path big = Files.createDirectories(store.resolve("cccc-bigdir"));
        for (int i = 0; i < 700; i++) {
            Path f = big.resolve(String.format("entry-%04d-%s", i, "q".repeat(i % 40)));
            if (i % 50 == 0) {
                Files.createSymbolicLink(f, Path.of("entry-" + i));
            } else {
                file(f, new byte[] {(byte) i}, false);
            }
        }
        Files.createDirectories(store.resolve("dddd-empty-dir"));
        return root;
    }

    /** Differences between two trees: names (raw), types, permission bits, contents, symlink targets. */
    /**
     * The blocks of the file system in {@code img}: the file without the reuse table that follows it (whose
     * 48-byte trailer, magic MFEROREU and the table's length, ends the file; table and trailer fill whole
     * 4 KiB blocks).
     */
    static long fsBlocks(Path img) throws IOException {
        byte[] b = Files.readAllBytes(img);
        int t = b.length - 48;
        if (t < 0 || !new String(b, t, 8, java.nio.charset.StandardCharsets.US_ASCII).equals("MFEROREU")) {
            throw new AssertionError(img + ": no reuse table trailer");
        }
        long len = java.nio.ByteBuffer.wrap(b, t + 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        long tableBlocks = (len + 48 + 4095) / 4096;
        if (b.length % 4096 != 0 || tableBlocks * 4096 > b.length) {
            throw new AssertionError(img + ": reuse table of " + len + " bytes in a file of " + b.length);
        }
        return b.length / 4096 - tableBlocks;
    }

    static List<String> diff(Path expected, Path actual) throws IOException {
        List<String> out = new ArrayList<>();
        diff(expected, actual, "", out);
        return out;
    }

    private static void diff(Path e, Path a, String rel, List<String> out) throws IOException {
        if (Files.isSymbolicLink(e)) {
            if (!Files.isSymbolicLink(a)) {
                out.add(rel + ": not a symlink");
            } else if (!Arrays.equals(RawNames.bytes(Files.readSymbolicLink(e)), RawNames.bytes(Files.readSymbolicLink(a)))) {
                out.add(rel + ": symlink target differs");
            }
            return;
        }
        if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(a, LinkOption.NOFOLLOW_LINKS)) {
                out.add(rel + ": not a directory");
                return;
            }
            List<byte[]> en = names(e);
            List<byte[]> an = names(a);
            if (en.size() != an.size() || !all(en, an)) {
                out.add(rel + ": entries differ: " + en.size() + " vs " + an.size());
                return;
            }
            for (byte[] n : en) {
                diff(RawNames.resolve(e, n), RawNames.resolve(a, n), rel + "/" + RawNames.display(n), out);
            }
            return;
        }
        if (!Files.isRegularFile(a, LinkOption.NOFOLLOW_LINKS)) {
            out.add(rel + ": not a regular file");
            return;
        }
        if (!Arrays.equals(Files.readAllBytes(e), Files.readAllBytes(a))) {
            out.add(rel + ": content differs");
        }
        boolean ex = Files.isExecutable(e);
        boolean ax = Files.getPosixFilePermissions(a).contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
        if (ex != ax) {
            out.add(rel + ": executable bit differs");
        }
    }

    private static boolean all(List<byte[]> x, List<byte[]> y) {
        for (int i = 0; i < x.size(); i++) {
            if (!Arrays.equals(x.get(i), y.get(i))) {
                return false;
            }
        }
        return true;
    }

    static List<byte[]> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<byte[]> l = new ArrayList<>(s.map(RawNames::name).toList());
            l.sort(RawNames::compare);
            return l;
        }
    }
}
