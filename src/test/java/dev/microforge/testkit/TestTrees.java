package dev.microforge.testkit;

import dev.microforge.util.RawNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;

/** Deterministic source trees for image tests. */
public final class TestTrees {
    private TestTrees() {}

    /** Deterministic pseudo-random bytes (incompressible) for a seed. */
    public static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Deterministic compressible text-like bytes. */
    public static byte[] text(long seed, int size) {
        Random r = new Random(seed);
        String[] words = {"nix", "store", "lib", "bin", "share", "gcc", "glibc", "the", "of", "microvm", "erofs", "squashfs", "\n"};
        StringBuilder sb = new StringBuilder(size + 16);
        while (sb.length() < size) {
            sb.append(words[r.nextInt(words.length)]).append(' ');
        }
        return sb.substring(0, size).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Deterministic bytes shaped like linked x86-64 machine code: short instructions, and every eighth or so a
     * CALL rel32 to one of 64 function entries inside the same bytes. The x86 BCJ filter turns those relative
     * targets into absolute ones, which repeat, so xz with BCJ compresses it better than without.
     */
    public static byte[] x86Code(long seed, int size) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        int[] entries = new int[64];
        for (int k = 0; k < entries.length; k++) {
            entries[k] = r.nextInt(size);
        }
        byte[][] ops = {{0x55}, {0x48, (byte) 0x89, (byte) 0xe5}, {0x48, (byte) 0x8b, 0x45, (byte) 0xf8}, {(byte) 0xc3},
            {0x31, (byte) 0xc0}, {0x48, (byte) 0x83, (byte) 0xec, 0x10}, {0x5d}, {0x0f, 0x1f, 0x44, 0x00, 0x00}};
        int i = 0;
        while (i + 5 <= size) {
            if (r.nextInt(8) == 0) {
                int rel = entries[r.nextInt(entries.length)] - (i + 5);
                b[i] = (byte) 0xe8;
                for (int k = 0; k < 4; k++) {
                    b[i + 1 + k] = (byte) (rel >>> 8 * k);
                }
                i += 5;
            } else {
                byte[] op = ops[r.nextInt(ops.length)];
                System.arraycopy(op, 0, b, i, op.length);
                i += op.length;
            }
        }
        return b;
    }

    /**
     * A tree with what image writers get wrong: nested and empty directories, executables, x86-like code, relative, absolute
     * and dangling symlinks, empty files, files of exactly one and several 4 KiB/128 KiB blocks, files that
     * span several blocks with a tail (fragment), a compressible file with an incompressible end, duplicate files (same content, different names and modes),
     * a non-UTF-8 name, a long name (255 bytes), names that sort differently as bytes than as UTF-16, and a
     * directory with {@code wide} entries. Returns {@code dir}. Everything is a pure function of the
     * arguments (modes are set explicitly: no umask dependence).
     */
    public static Path rich(Path dir, int wide) throws IOException {
        Files.createDirectories(dir);
        chmod(dir, "rwxr-xr-x");
        Path bin = mkdir(dir.resolve("pkg-1.0/bin"));
        Path lib = mkdir(dir.resolve("pkg-1.0/lib"));
        Path share = mkdir(dir.resolve("pkg-1.0/share/doc/pkg/deeply/nested/tree"));
        mkdir(dir.resolve("empty-dir"));
        write(bin.resolve("hello"), "#!/bin/sh\necho hello\n".getBytes(StandardCharsets.US_ASCII), "r-xr-xr-x");
        write(bin.resolve("big-exe"), random(1, 300_000), "r-xr-xr-x");
        write(lib.resolve("libfoo.so.1.2.3"), random(2, 200_000), "r--r--r--");
        // machine code over more than one 1 MiB block: xz's BCJ filter (SquashFS --xz-bcj auto) gets used
        write(lib.resolve("libcode.so"), x86Code(13, 1_200_000), "r--r--r--");
        Files.createSymbolicLink(lib.resolve("libfoo.so.1"), Path.of("libfoo.so.1.2.3"));
        Files.createSymbolicLink(lib.resolve("libfoo.so"), Path.of("libfoo.so.1"));
        Files.createSymbolicLink(bin.resolve("abs-link"), Path.of("/nix/store/00000000000000000000000000000000-x/bin/sh"));
        Files.createSymbolicLink(bin.resolve("dangling"), Path.of("../does/not/exist"));
        Files.createSymbolicLink(dir.resolve("dir-link"), Path.of("pkg-1.0/share"));
        write(share.resolve("README"), text(3, 10_000), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/empty"), new byte[0], "r--r--r--");
        write(dir.resolve("pkg-1.0/share/empty-exe"), new byte[0], "r-xr-xr-x");
        write(dir.resolve("pkg-1.0/share/one-4k-block"), random(4, 4096), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/one-128k-block"), random(5, 131072), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/several-blocks-tail"), text(6, 3 * 131072 + 1234), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/compressible-1m"), text(7, 1 << 20), "r--r--r--");
        // compressible, then incompressible (compressed extents, then stored-raw ones)
        byte[] mixed = new byte[60_000 + 5_000];
        System.arraycopy(text(11, 60_000), 0, mixed, 0, 60_000);
        System.arraycopy(random(12, 5_000), 0, mixed, 60_000, 5_000);
        write(dir.resolve("pkg-1.0/share/text-then-random"), mixed, "r--r--r--");
        write(dir.resolve("pkg-1.0/share/zeros"), new byte[200_000], "rw-r--r--");
        write(dir.resolve("pkg-1.0/share/dup-a"), text(8, 50_000), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/dup-b"), text(8, 50_000), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/dup-exe"), text(8, 50_000), "r-xr-xr-x");
        write(dir.resolve("pkg-1.0/share/small-dup-1"), "same tail\n".getBytes(StandardCharsets.US_ASCII), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/small-dup-2"), "same tail\n".getBytes(StandardCharsets.US_ASCII), "r--r--r--");
        byte[] nonUtf8 = {'n', 'o', 'n', '-', 'u', 't', 'f', '8', '-', (byte) 0xff, (byte) 0xfe, 'x'};
        write(RawNames.resolve(dir.resolve("pkg-1.0/share"), nonUtf8), "latin1 name\n".getBytes(StandardCharsets.US_ASCII), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/\u00e9t\u00e9-utf8"), "utf8\n".getBytes(StandardCharsets.UTF_8), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/\uD83D\uDE00-astral"), "astral\n".getBytes(StandardCharsets.UTF_8), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/\uFF21-fullwidth"), "bmp\n".getBytes(StandardCharsets.UTF_8), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/with space"), "space\n".getBytes(StandardCharsets.UTF_8), "r--r--r--");
        write(dir.resolve("pkg-1.0/share/" + "L".repeat(255)), "long\n".getBytes(StandardCharsets.UTF_8), "r--r--r--");
        Path w = mkdir(dir.resolve("wide"));
        for (int i = 0; i < wide; i++) {
            String name = String.format("%08x-entry-%d", (i * 2654435761L) & 0xffffffffL, i);
            if (i % 10 == 3) {
                Files.createSymbolicLink(w.resolve(name), Path.of("../pkg-1.0/bin/hello"));
            } else if (i % 10 == 7) {
                mkdir(w.resolve(name));
            } else {
                write(w.resolve(name), text(100 + i, i % 5 == 0 ? 0 : 17 * i % 3000), i % 4 == 0 ? "r-xr-xr-x" : "r--r--r--");
            }
        }
        fixDirModes(dir);
        return dir;
    }

    private static Path mkdir(Path p) throws IOException {
        Files.createDirectories(p);
        return p;
    }

    /** Every directory 0755, whatever the umask made of the intermediate ones. */
    private static void fixDirModes(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    chmod(p, "rwxr-xr-x");
                }
            }
        }
    }

    private static void write(Path p, byte[] data, String perms) throws IOException {
        Files.write(p, data);
        chmod(p, perms);
    }

    private static void chmod(Path p, String perms) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
    }
}
