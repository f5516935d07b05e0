package dev.microforge.image.erofs.compress;

import dev.microforge.image.CorruptImageException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One algorithm's record in the superblock's compression configuration area (present when the superblock has
 * COMPR_CFGS): a 16-bit little-endian payload length, then the payload ({@code erofs_fs.h}). {@code window} is in
 * bytes for every algorithm: lz4 {@code max_distance} (0: the default 64 KiB), lzma {@code dict_size}, deflate
 * {@code 1 << windowbits}, zstd {@code 1 << (windowlog + 10)}. {@code pclusterBlocks} is lz4's
 * {@code max_pclusterblks} (0 for the others).
 *
 * <p>The checks are the kernel's (Linux 6.12 {@code decompressor*.c}): lzma needs format 0 and a dictionary of
 * 4 KiB to 8 MiB; deflate at most 15 window bits; zstd format 0 and a window of at most 1 MiB; lz4 at most
 * 256 blocks (1 MiB) per pcluster.
 */
public record AlgorithmConfig(ErofsAlgorithm algorithm, int window, int pclusterBlocks) {
    /** The largest physical cluster (Z_EROFS_PCLUSTER_MAX_SIZE). */
    public static final int PCLUSTER_MAX = 1 << 20;
    public static final int LZMA_DICT_MIN = 4096;
    public static final int LZMA_DICT_MAX = 8 * PCLUSTER_MAX;
    public static final int ZSTD_WINDOW_MAX = PCLUSTER_MAX;
    public static final int DEFLATE_WINDOW_BITS_MAX = 15;

    public AlgorithmConfig {
        if (algorithm == null) {
            throw new IllegalArgumentException("no algorithm");
        }
        String bad = check(algorithm, window, pclusterBlocks);
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
    }

    private static String check(ErofsAlgorithm a, long window, int blocks) {
        return switch (a) {
            case LZ4 -> window < 0 || window > 65535 ? "lz4 max_distance " + window + " is not 0..65535"
                    : blocks < 0 || blocks > PCLUSTER_MAX / 4096 ? "lz4 max_pclusterblks " + blocks + " is over " + PCLUSTER_MAX / 4096 : null;
            case LZMA -> window < LZMA_DICT_MIN || window > LZMA_DICT_MAX ? "lzma dictionary size " + window + " is not 4096.." + LZMA_DICT_MAX : null;
            case DEFLATE -> Long.bitCount(window) != 1 || window < 256 || window > 1 << DEFLATE_WINDOW_BITS_MAX
                    ? "deflate window " + window + " is not 2^8..2^15" : null;
            case ZSTD -> Long.bitCount(window) != 1 || window < 1024 || window > ZSTD_WINDOW_MAX
                    ? "zstd window " + window + " is not a power of two from 1 KiB to 1 MiB" : null;
        };
    }

    /** The record as written: le16 payload length, then the payload. */
    public byte[] encode() {
        int size = algorithm.configSize();
        byte[] b = new byte[2 + size];
        putLe16(b, 0, size);
        switch (algorithm) {
            case LZ4 -> {
                putLe16(b, 2, window);
                putLe16(b, 4, pclusterBlocks);
            }
            case LZMA -> {
                putLe32(b, 2, window);
                putLe16(b, 6, 0); // format
            }
            case DEFLATE -> b[2] = (byte) Integer.numberOfTrailingZeros(window);
            case ZSTD -> {
                b[2] = 0; // format
                b[3] = (byte) (Integer.numberOfTrailingZeros(window) - 10);
            }
        }
        return b;
    }

    /**
     * The configuration area for these records: the records in algorithm-id order, each starting at a multiple
     * of 4 bytes from the area's start (the kernel rounds up before reading each length). The records' sizes
     * (16 and 8 bytes) keep that alignment without padding.
     */
    public static byte[] encodeArea(List<AlgorithmConfig> configs) {
        EnumMap<ErofsAlgorithm, AlgorithmConfig> byAlg = new EnumMap<>(ErofsAlgorithm.class);
        for (AlgorithmConfig c : configs) {
            if (byAlg.put(c.algorithm, c) != null) {
                throw new IllegalArgumentException("two records for " + c.algorithm.label());
            }
        }
        List<byte[]> parts = new ArrayList<>();
        int total = 0;
        for (AlgorithmConfig c : byAlg.values()) {
            byte[] e = c.encode();
            int padded = (e.length + 3) & ~3;
            parts.add(e);
            total += padded;
        }
        byte[] area = new byte[total];
        int p = 0;
        for (byte[] e : parts) {
            System.arraycopy(e, 0, area, p, e.length);
            p += (e.length + 3) & ~3;
        }
        return area;
    }

    /** The {@code available_compr_algs} bitmap of these records. */
    public static int bitmap(List<AlgorithmConfig> configs) {
        int bits = 0;
        for (AlgorithmConfig c : configs) {
            bits |= c.algorithm.bit();
        }
        return bits;
    }

    /**
     * Reads the configuration area at {@code image[off, end)} for the algorithms of {@code bitmap} (each record
     * starts at the next offset of {@code image} that is a multiple of 4, as the kernel reads them: {@code off} is
     * the superblock's end, 1024 + 128 in a microforge image), with the
     * kernel's checks (unknown algorithm bits, a record shorter than its structure or past the end, values out
     * of range), each as a {@link CorruptImageException} naming the algorithm. Returns the records by algorithm.
     */
    public static Map<ErofsAlgorithm, AlgorithmConfig> decodeArea(int bitmap, byte[] image, int off, int end) throws CorruptImageException {
        if ((bitmap & ~ErofsAlgorithm.ALL_BITS) != 0) {
            throw new CorruptImageException("unknown compression algorithms 0x" + Integer.toHexString(bitmap & ~ErofsAlgorithm.ALL_BITS)
                    + " in available_compr_algs");
        }
        Map<ErofsAlgorithm, AlgorithmConfig> out = new EnumMap<>(ErofsAlgorithm.class);
        int p = off;
        for (ErofsAlgorithm a : ErofsAlgorithm.values()) {
            if ((bitmap & a.bit()) == 0) {
                continue;
            }
            p = (p + 3) & ~3;
            if (p < off || p + 2 > end) {
                throw new CorruptImageException(a.label() + " configuration record at " + p + " is past the end of the superblock area");
            }
            int size = le16(image, p);
            if (size == 0) {
                size = 65536;
            }
            int q = p + 2;
            if (size < a.configSize() || q + (long) size > end) {
                throw new CorruptImageException(a.label() + " configuration record at " + p + " has size " + size + " (needs " + a.configSize()
                        + (q + (long) size > end ? ", within " + (end - q) + " bytes" : "") + ")");
            }
            out.put(a, decode(a, image, q, size));
            p = q + size;
        }
        return out;
    }

    /**
     * One record's payload ({@code size} bytes at {@code b[q]}, after its length), with the kernel's checks; a
     * {@link CorruptImageException} names the algorithm and what is wrong.
     */
    public static AlgorithmConfig decode(ErofsAlgorithm a, byte[] b, int q, int size) throws CorruptImageException {
        if (size < a.configSize() || q < 0 || q + (long) size > b.length) {
            throw new CorruptImageException(a.label() + " configuration record of " + size + " bytes (needs " + a.configSize() + ")");
        }
        long window;
        int blocks = 0;
        switch (a) {
            case LZ4 -> {
                window = le16(b, q);
                blocks = le16(b, q + 2);
            }
            case LZMA -> {
                if (le16(b, q + 4) != 0) {
                    throw new CorruptImageException("lzma configuration: unknown format " + le16(b, q + 4));
                }
                window = le32(b, q) & 0xFFFFFFFFL;
            }
            case DEFLATE -> {
                int bits = b[q] & 0xFF;
                if (bits > DEFLATE_WINDOW_BITS_MAX) {
                    throw new CorruptImageException("deflate configuration: " + bits + " window bits (at most 15)");
                }
                window = 1L << Math.max(8, bits);
            }
            case ZSTD -> {
                if (b[q] != 0) {
                    throw new CorruptImageException("zstd configuration: unknown format " + (b[q] & 0xFF));
                }
                int log = b[q + 1] & 0xFF;
                if (log > 10) {
                    throw new CorruptImageException("zstd configuration: window log " + (log + 10) + " (at most 20)");
                }
                window = 1L << (log + 10);
            }
            default -> throw new IllegalStateException();
        }
        String bad = check(a, window, blocks);
        if (bad != null) {
            throw new CorruptImageException(a.label() + " configuration: " + bad);
        }
        return new AlgorithmConfig(a, (int) window, blocks);
    }

    private static void putLe16(byte[] b, int p, int v) {
        b[p] = (byte) v;
        b[p + 1] = (byte) (v >>> 8);
    }

    private static void putLe32(byte[] b, int p, int v) {
        putLe16(b, p, v);
        putLe16(b, p + 2, v >>> 16);
    }

    private static int le16(byte[] b, int p) {
        return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8;
    }

    private static int le32(byte[] b, int p) {
        return le16(b, p) | le16(b, p + 2) << 16;
    }
}
