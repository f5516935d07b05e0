package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import dev.microforge.util.UserError;
import java.util.List;

/**
 * A block compressor as filesystem images use it: each block is compressed on its own. Instances of
 * {@link Compressor} and {@link Decompressor} keep per-thread state and are not thread-safe; the codec itself is.
 */
public interface Codec {
    /** "zstd", "xz", "gzip", "lz4" or "none". */
    String name();

    /** The level used when none is given (the one mksquashfs uses for this compressor). */
    int defaultLevel();

    /** Checks a level and throws a {@link UserError} naming the valid range. */
    void checkLevel(int level);

    /** A compressor for one thread. {@code blockSize} is the largest input it will see. */
    Compressor newCompressor(int level, int blockSize);

    /**
     * The compressor used when no level was given: {@link #defaultLevel()} for every block, unless the codec
     * chooses per block (xz: see {@link XzCodec}).
     */
    default Compressor newDefaultCompressor(int blockSize) {
        return newCompressor(defaultLevel(), blockSize);
    }

    /**
     * Starts, in the background, whatever compressors of {@code level} will need (a native library to load), so that
     * it overlaps the caller's other work; no effect on the bytes they write.
     */
    default void prepare(int level) {}

    Decompressor newDecompressor();

    interface Compressor {
        /**
         * Compresses {@code src[off, off+len)} into {@code dst} (at least {@code len} bytes long) and returns the
         * compressed length, or -1 when the result would not be smaller than {@code len} (store the block raw).
         */
        int compress(byte[] src, int off, int len, byte[] dst);
    }

    interface Decompressor {
        /**
         * Decompresses {@code src[off, off+len)} into {@code dst[dstOff, dstOff+maxLen)} and returns the number of
         * bytes produced. Throws {@link CorruptImageException} when the input is malformed or would expand to
         * more than {@code maxLen} bytes; never allocates in proportion to what the input claims.
         */
        int decompress(byte[] src, int off, int len, byte[] dst, int dstOff, int maxLen) throws CorruptImageException;
    }

    List<String> NAMES = List.of("zstd", "xz", "gzip", "lz4", "none");

    static Codec named(String name) {
        return switch (name) {
            case "zstd" -> new ZstdCodec();
            case "xz" -> new XzCodec();
            case "gzip" -> new GzipCodec();
            case "lz4" -> new Lz4Codec();
            case "none" -> new NoneCodec();
            default -> throw new UserError("unknown compression '" + name + "': expected one of " + String.join(", ", NAMES));
        };
    }

    static void checkRange(String codec, int level, int min, int max) {
        if (level < min || level > max) {
            throw new UserError("--level " + level + " is out of range for " + codec + " (" + min + " to " + max + ")");
        }
    }
}
