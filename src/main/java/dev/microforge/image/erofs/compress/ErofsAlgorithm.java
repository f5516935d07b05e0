package dev.microforge.image.erofs.compress;

/**
 * The EROFS compression algorithms: their ids (the map header's {@code h_algorithmtype}, the bit of the
 * superblock's {@code available_compr_algs}) and the size of their configuration record in the superblock's
 * compression configuration area (the kernel's {@code erofs_fs.h}).
 */
public enum ErofsAlgorithm {
    LZ4(0, "lz4", 14),
    LZMA(1, "lzma", 14),
    DEFLATE(2, "deflate", 6),
    ZSTD(3, "zstd", 6);

    /** Bits of {@code available_compr_algs} that name an algorithm. */
    public static final int ALL_BITS = (1 << values().length) - 1;

    private final int id;
    private final String label;
    private final int configSize;

    ErofsAlgorithm(int id, String label, int configSize) {
        this.id = id;
        this.label = label;
        this.configSize = configSize;
    }

    /** The on-disk id: 0 lz4, 1 lzma, 2 deflate, 3 zstd. */
    public int id() {
        return id;
    }

    /** The bit in {@code available_compr_algs}. */
    public int bit() {
        return 1 << id;
    }

    /** The size of the configuration record's payload (after its 16-bit length). */
    public int configSize() {
        return configSize;
    }

    public String label() {
        return label;
    }

    /** The algorithm with this on-disk id, or null. */
    public static ErofsAlgorithm ofId(int id) {
        for (ErofsAlgorithm a : values()) {
            if (a.id == id) {
                return a;
            }
        }
        return null;
    }
}
