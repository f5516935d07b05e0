package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.lz4.Lz4Compressor;
import dev.microforge.image.lz4.Lz4Fast;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;

/**
 * Raw LZ4 blocks (no frame), what SquashFS's lz4 compressor and the kernel's LZ4_decompress_safe use.
 * Compression by liblz4's LZ4_compress_default through lz4-java's JNI binding or {@link Lz4Fast} (level 1; the
 * same bytes, see {@link NativeLoad}) or {@link Lz4Compressor} (HC, levels 2 to 12); decompression here, bounds-checked.
 */
public final class Lz4Codec implements Codec {
    private static final int MIN_MATCH = 4;

    /**
     * liblz4's LZ4_compress_default (lz4-java's JNI compressor), loaded on a daemon thread of its own from
     * {@link #prepare} (the SquashFS options call it, so the load, lz4-java unpacking its library into
     * java.io.tmpdir, about 50 ms, overlaps the tree scan) or at the latest from the first level-1 compression, which
     * waits for it: one build uses one compressor for every block. It is used when it loaded and writes the same
     * bytes as {@link Lz4Fast} on a sample of text, binary-like and incompressible data; when it does not load (a
     * tmpdir that is missing, not writable or mounted noexec, another platform) or differs, level 1 uses
     * {@link Lz4Fast}, which writes the same bytes (Lz4CodecTest). The property {@code microforge.lz4.native=false}
     * turns it off.
     */
    private static final class NativeLoad {
        static final FutureTask<net.jpountz.lz4.LZ4Compressor> TASK = new FutureTask<>(Lz4Codec::loadNative);

        static {
            Thread t = new Thread(TASK, "microforge-lz4-load");
            t.setDaemon(true);
            t.start();
            // lz4-java has the unpacked library deleted at exit (File.deleteOnExit, which runs after the shutdown
            // hooks): a JVM exiting during the load waits for it (at most 10 s), so that the file is registered
            // in time and nothing stays in the tmpdir
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        TASK.get(10, TimeUnit.SECONDS);
                    } catch (InterruptedException | ExecutionException | TimeoutException e) {
                        // exit anyway
                    }
                }, "microforge-lz4-load-wait"));
            } catch (IllegalStateException e) { // already shutting down
            }
        }
    }

    /** Waits for the load: the native compressor, or null when there is none. */
    static net.jpountz.lz4.LZ4Compressor awaitNative() {
        try {
            return NativeLoad.TASK.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException e) {
            return null;
        }
    }

    private static net.jpountz.lz4.LZ4Compressor loadNative() {
        if ("false".equals(System.getProperty("microforge.lz4.native"))) {
            return null;
        }
        try {
            net.jpountz.lz4.LZ4Compressor c = LZ4Factory.nativeInstance().fastCompressor();
            return sameAsLz4Fast(c) ? c : null;
        } catch (Throwable e) { // the native library did not load: UnsatisfiedLinkError, ExceptionInInitializerError...
            return null;
        }
    }

    /** Whether c writes the bytes {@link Lz4Fast} writes (or also gives up) on a fixed 24 KiB sample. */
    static boolean sameAsLz4Fast(net.jpountz.lz4.LZ4Compressor c) {
        byte[] words = "the quick brown fox jumps over the lazy dog /nix/store lib share bin\n".getBytes(StandardCharsets.US_ASCII);
        byte[] sample = new byte[24 << 10];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < sample.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            sample[i] = switch (i >> 13) { // 8 KiB each: text, repeats with noise, random
                case 0 -> words[(int) ((i + (x & 3)) % words.length)];
                case 1 -> (x & 7) == 0 ? (byte) x : (byte) (i & 0x3f);
                default -> (byte) x;
            };
        }
        Lz4Fast f = new Lz4Fast();
        byte[] a = new byte[sample.length];
        byte[] b = new byte[sample.length];
        for (int[] r : new int[][] {{0, sample.length}, {1, 5000}, {8 << 10, 8 << 10}, {16 << 10, 8 << 10}, {0, 1 << 10}}) {
            int n = f.compress(sample, r[0], r[1], a, 0, r[1] - 1);
            int m = compressNative(c, sample, r[0], r[1], b);
            if (n != m || (n > 0 && !Arrays.equals(a, 0, n, b, 0, m))) {
                return false;
            }
        }
        return true;
    }

    /** LZ4_compress_default into at most len - 1 bytes; -1 when it does not fit. */
    private static int compressNative(net.jpountz.lz4.LZ4Compressor c, byte[] src, int off, int len, byte[] dst) {
        try {
            return c.compress(src, off, len, dst, 0, len - 1);
        } catch (LZ4Exception e) { // the output does not fit
            return -1;
        }
    }

    @Override
    public String name() {
        return "lz4";
    }

    @Override
    public int defaultLevel() {
        return 1;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("lz4", level, 1, 12);
    }

    /**
     * Level 1: LZ4's fast compressor ({@link Lz4Fast}, the blocks of liblz4's LZ4_compress_default, as mksquashfs
     * and gensquashfs write them); 2 to 12: LZ4 HC at that level (as {@code mksquashfs -Xhc}).
     */
    @Override
    public Compressor newCompressor(int level, int blockSize) {
        if (level <= 1) {
            return new Level1();
        }
        Lz4Compressor c = Lz4Compressor.hc(level);
        // Lz4Compressor keeps room for the rest of the input as literals after each match, so it only
        // compresses well into a worst-case sized buffer: compress there, keep the result if it is smaller
        byte[] scratch = new byte[Lz4Compressor.maxCompressedLength(blockSize)];
        return (src, off, len, dst) -> {
            if (len < 2) {
                return -1;
            }
            byte[] buf = len <= blockSize ? scratch : new byte[Lz4Compressor.maxCompressedLength(len)];
            int n = c.compress(src, off, len, buf, 0, buf.length);
            if (n <= 0 || n >= len) {
                return -1;
            }
            System.arraycopy(buf, 0, dst, 0, n);
            return n;
        };
    }

    @Override
    public void prepare(int level) {
        if (level <= 1) {
            NativeLoad.TASK.isDone(); // initializes NativeLoad: starts the load
        }
    }

    /** Level 1 of one thread: the native compressor when it loaded, else {@link Lz4Fast} (the same bytes). */
    private static final class Level1 implements Compressor {
        private Lz4Fast fast;
        private net.jpountz.lz4.LZ4Compressor jni;
        private boolean settled;

        @Override
        public int compress(byte[] src, int off, int len, byte[] dst) {
            if (len < 2) {
                return -1;
            }
            if (!settled) {
                jni = awaitNative();
                fast = jni == null ? new Lz4Fast() : null;
                settled = true;
            }
            return jni != null ? compressNative(jni, src, off, len, dst) : fast.compress(src, off, len, dst, 0, len - 1);
        }
    }

    @Override
    public Decompressor newDecompressor() {
        return Lz4Codec::decompress;
    }

    /** LZ4_decompress_safe: every read and write bounds-checked. */
    static int decompress(byte[] src, int off, int len, byte[] dst, int dstOff, int maxLen) throws CorruptImageException {
        int ip = off;
        int end = off + len;
        int op = dstOff;
        int oend = dstOff + maxLen;
        if (len == 0) {
            throw new CorruptImageException("lz4: empty block");
        }
        while (true) {
            if (ip >= end) {
                throw new CorruptImageException("lz4: truncated block");
            }
            int token = src[ip++] & 0xff;
            int litLen = token >>> 4;
            if (litLen == 15) {
                int b;
                do {
                    if (ip >= end) {
                        throw new CorruptImageException("lz4: truncated literal length");
                    }
                    b = src[ip++] & 0xff;
                    litLen += b;
                    if (litLen > maxLen) {
                        throw new CorruptImageException("lz4: literal run beyond the block size");
                    }
                } while (b == 255);
            }
            if (litLen > end - ip || litLen > oend - op) {
                throw new CorruptImageException("lz4: literal run beyond the block");
            }
            System.arraycopy(src, ip, dst, op, litLen);
            ip += litLen;
            op += litLen;
            if (ip == end) {
                return op - dstOff;
            }
            if (end - ip < 2) {
                throw new CorruptImageException("lz4: truncated match offset");
            }
            int distance = (src[ip] & 0xff) | (src[ip + 1] & 0xff) << 8;
            ip += 2;
            if (distance == 0 || distance > op - dstOff) {
                throw new CorruptImageException("lz4: match offset " + distance + " points before the block");
            }
            int matchLen = token & 15;
            if (matchLen == 15) {
                int b;
                do {
                    if (ip >= end) {
                        throw new CorruptImageException("lz4: truncated match length");
                    }
                    b = src[ip++] & 0xff;
                    matchLen += b;
                    if (matchLen > maxLen) {
                        throw new CorruptImageException("lz4: match beyond the block size");
                    }
                } while (b == 255);
            }
            matchLen += MIN_MATCH;
            if (matchLen > oend - op) {
                throw new CorruptImageException("lz4: match beyond the block size");
            }
            int mp = op - distance;
            if (distance >= matchLen) {
                System.arraycopy(dst, mp, dst, op, matchLen);
                op += matchLen;
            } else {
                for (int i = 0; i < matchLen; i++) {
                    dst[op++] = dst[mp++];
                }
            }
        }
    }
}
