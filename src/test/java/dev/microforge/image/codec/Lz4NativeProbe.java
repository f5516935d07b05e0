package dev.microforge.image.codec;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Run in a JVM of its own by {@link Lz4CodecTest} (the native compressor loads once per JVM): prints whether the
 * native level-1 compressor of {@link Lz4Codec} loaded ("native" or "java") and the SHA-256 of the blocks level 1
 * writes (from the first block on, while the native library may still be loading) for
 * {@link Lz4CodecTest#sample()} in 128 KiB blocks (-1 counted as the raw block). With the argument
 * {@code exit-at-once [MS]}: makes a level-1 compressor and exits (after MS milliseconds).
 */
public final class Lz4NativeProbe {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("exit-at-once")) {
            // starts the native load and exits while it may still be unpacking
            new Lz4Codec().newCompressor(1, 1024);
            Thread.sleep(args.length > 1 ? Integer.parseInt(args[1]) : 0);
            System.exit(0);
        }
        byte[] in = Lz4CodecTest.sample();
        int bs = 128 << 10;
        Codec.Compressor c = new Lz4Codec().newCompressor(1, bs);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] dst = new byte[bs];
        for (int off = 0; off < in.length; off += bs) {
            int len = Math.min(bs, in.length - off);
            int n = c.compress(in, off, len, dst);
            if (n < 0) {
                md.update(in, off, len);
            } else {
                md.update(dst, 0, n);
            }
            md.update((byte) (n < 0 ? 0 : 1));
        }
        System.out.println((Lz4Codec.awaitNative() != null ? "native " : "java ") + HexFormat.of().formatHex(md.digest()));
    }
}
