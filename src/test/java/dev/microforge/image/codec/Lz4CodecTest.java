package dev.microforge.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.lz4.Lz4Fast;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.TestTrees;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Level 1 of {@link Lz4Codec} by liblz4 through lz4-java's JNI binding: it loads on this machine, writes exactly the
 * blocks of {@link Lz4Fast} (its fallback) and gives up exactly when Lz4Fast does, and a JVM where the native
 * library cannot load (tmpdir missing or mounted noexec, or turned off) falls back to Lz4Fast with the same bytes
 * and prints nothing.
 */
class Lz4CodecTest {
    @TempDir
    Path tmp;

    /** x86-like code, text-like lines, the JDK's class archive, random bytes, zeros, short runs: 4.5 MB. */
    static byte[] sample() throws Exception {
        Random r = new Random(20);
        List<byte[]> parts = new ArrayList<>();
        parts.add(TestTrees.x86Code(7, 1_000_000));
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 900_000) {
            sb.append("/nix/store/").append(Long.toString(r.nextLong() & Long.MAX_VALUE, 36)).append("-pkg-")
                    .append(r.nextInt(100)).append(r.nextBoolean() ? " lib/libfoo.so\n" : " share/doc/README\n");
        }
        parts.add(sb.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        try (var in = Files.newInputStream(Path.of(System.getProperty("java.home"), "lib", "modules"))) {
            parts.add(in.readNBytes(1_500_000));
        }
        byte[] rnd = new byte[600_000];
        r.nextBytes(rnd);
        parts.add(rnd);
        parts.add(new byte[300_000]);
        byte[] runs = new byte[200_000];
        for (int i = 0; i < runs.length; i++) {
            runs[i] = (byte) ((i / (1 + r.nextInt(9))) & 3);
        }
        parts.add(runs);
        int n = parts.stream().mapToInt(p -> p.length).sum();
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    void nativeCompressorLoadsAndWritesTheBlocksOfLz4Fast() throws Exception {
        net.jpountz.lz4.LZ4Compressor jni = Lz4Codec.awaitNative();
        assertNotNull(jni, "lz4-java's native library did not load (java.io.tmpdir=" + System.getProperty("java.io.tmpdir") + ")");
        byte[] in = sample();
        Codec.Compressor c = new Lz4Codec().newCompressor(1, 1 << 20);
        Codec.Decompressor d = new Lz4Codec().newDecompressor();
        Lz4Fast f = new Lz4Fast();
        Random r = new Random(3);
        int blocks = 0;
        int raw = 0;
        for (int size : new int[] {2, 3, 13, 64, 4096, 65_536, 131_072, 1 << 20}) {
            byte[] a = new byte[Math.max(size, 16)];
            byte[] b = new byte[Math.max(size, 16)];
            byte[] j = new byte[Math.max(size, 16)];
            for (int off = 0; off + size <= in.length; off += Math.max(size, 1 + r.nextInt(200_000))) {
                int n = c.compress(in, off, size, a);
                int m = f.compress(in, off, size, b, 0, size - 1);
                int k;
                try {
                    k = jni.compress(in, off, size, j, 0, size - 1);
                } catch (net.jpountz.lz4.LZ4Exception e) {
                    k = -1;
                }
                assertEquals(m, n, "size " + size + " at " + off);
                assertEquals(m, k, "size " + size + " at " + off);
                if (k > 0) {
                    assertArrayEquals(Arrays.copyOf(b, m), Arrays.copyOf(j, k), "size " + size + " at " + off);
                }
                if (n > 0) {
                    assertArrayEquals(Arrays.copyOf(b, m), Arrays.copyOf(a, n), "size " + size + " at " + off);
                    byte[] back = new byte[size];
                    assertEquals(size, d.decompress(a, 0, n, back, 0, size));
                    assertArrayEquals(Arrays.copyOfRange(in, off, off + size), back);
                } else {
                    raw++;
                }
                blocks++;
            }
        }
        assertTrue(blocks > 300 && raw > 5 && blocks - raw > 100, blocks + " blocks, " + raw + " stored raw");
        assertTrue(Lz4Codec.sameAsLz4Fast(jni));
    }

    /** The probe in a JVM of its own, with extra JVM options; returns its line. */
    private String probe(String... jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmOptions));
        cmd.add(Lz4NativeProbe.class.getName());
        Exec.Result r = Exec.run(cmd, tmp, Map.of(), 120);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr());
        return r.out().trim();
    }

    @Test
    void withoutTheNativeLibraryLevelOneFallsBackToTheSameBytes() throws Exception {
        String nat = probe();
        assertTrue(nat.startsWith("native "), nat);
        String hash = nat.substring(7);
        assertEquals("java " + hash, probe("-Djava.io.tmpdir=" + tmp.resolve("missing")));
        assertEquals("java " + hash, probe("-Dmicroforge.lz4.native=false"));
    }

    /**
     * lz4-java unpacks its library into java.io.tmpdir and deletes it when the JVM exits; a JVM that exits while the
     * load is under way (a short build) still leaves nothing there. (The race this guards against, an exit between
     * unpacking and registering the file for deletion, left 3 files in ~100 short runs at load 13; it did not show
     * in 40 runs here, so this run mostly proves that the wait at exit does no harm.)
     */
    @Test
    void aJvmThatExitsDuringTheLoadLeavesNothingInTmpdir() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tmpdir"));
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + dir, "-cp", System.getProperty("java.class.path"), Lz4NativeProbe.class.getName(),
                "exit-at-once");
        for (int i = 0; i < 12; i++) {
            List<String> c = new ArrayList<>(cmd);
            c.add(Integer.toString(3 * i)); // exit 0 to 33 ms after the load started
            Exec.Result r = Exec.run(c, tmp, Map.of(), 120);
            assertEquals(0, r.exitCode(), r.stderr());
            assertEquals("", r.stderr() + r.out());
        }
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    @Tag("root")
    void aNoexecTmpdirFallsBackToTheSameBytes() throws Exception {
        Tools.requireRoot("mount a noexec tmpfs");
        Path mount = Tools.require("mount");
        Path noexec = Files.createDirectories(tmp.resolve("noexec"));
        List<String> m = List.of(mount.toString(), "-t", "tmpfs", "-o", "noexec,size=4m", "tmpfs", noexec.toString());
        Exec.run(m, tmp, null, 30).check(m);
        try {
            String hash = probe().substring(7);
            assertEquals("java " + hash, probe("-Djava.io.tmpdir=" + noexec));
            // lz4-java removed what it unpacked there
            try (var s = Files.list(noexec)) {
                assertEquals(List.of(), s.toList());
            }
        } finally {
            List<String> u = List.of(Tools.require("umount").toString(), noexec.toString());
            Exec.run(u, tmp, null, 30).check(u);
        }
    }
}
