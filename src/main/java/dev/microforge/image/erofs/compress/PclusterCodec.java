package dev.microforge.image.erofs.compress;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.lz4.Lz4Decompressor;
import dev.microforge.util.UserError;
import java.util.List;

/**
 * The EROFS compressors besides LZ4 (which has its own package): their {@code --compression} names, level
 * ranges and defaults, the configuration record each writes for a pcluster size, and their fixed-output
 * compressors and decoders.
 *
 * <p>Levels: zstd 1..22 (the library's levels), lzma 0..9 (xz's presets, without the extreme flag), deflate
 * 1..9 (zlib's levels). Defaults: zstd 15 and deflate 9 (the SquashFS writer's zstd and gzip defaults, which
 * are mksquashfs'), lzma 6 (xz's and mkfs.erofs' default preset). Windows: zstd {@code min(1 MiB, pcluster * 8)} rounded down to a power of two (what
 * mkfs.erofs chooses); lzma {@code min(1 MiB, max(32 KiB, pcluster * 4))} (mkfs.erofs' rule, capped at the 1 MiB
 * a microforge extent can reach, so a 6.12 guest preallocates no more than needed per CPU); deflate 32 KiB.
 */
public enum PclusterCodec {
    ZSTD("zstd", ErofsAlgorithm.ZSTD, 1, 22, 15),
    LZMA("lzma", ErofsAlgorithm.LZMA, 0, 9, 6),
    DEFLATE("deflate", ErofsAlgorithm.DEFLATE, 1, 9, 9);

    public static final List<String> NAMES = List.of("zstd", "lzma", "deflate");

    private final String label;
    private final ErofsAlgorithm algorithm;
    private final int minLevel;
    private final int maxLevel;
    private final int defaultLevel;

    PclusterCodec(String label, ErofsAlgorithm algorithm, int minLevel, int maxLevel, int defaultLevel) {
        this.label = label;
        this.algorithm = algorithm;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
        this.defaultLevel = defaultLevel;
    }

    /** The codec called {@code name} on the command line, or null. */
    public static PclusterCodec named(String name) {
        for (PclusterCodec c : values()) {
            if (c.label.equals(name)) {
                return c;
            }
        }
        return null;
    }

    public String label() {
        return label;
    }

    public ErofsAlgorithm algorithm() {
        return algorithm;
    }

    public int minLevel() {
        return minLevel;
    }

    public int maxLevel() {
        return maxLevel;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    /** Throws a {@link UserError} naming the range when {@code level} is outside it. */
    public void checkLevel(int level) {
        if (level < minLevel || level > maxLevel) {
            throw new UserError("--level " + level + " is out of range for " + label + " (" + minLevel + " to " + maxLevel + ")");
        }
    }

    /** The configuration record for images whose largest pcluster is {@code pclusterSize} bytes. */
    public AlgorithmConfig config(int pclusterSize) {
        if (pclusterSize < 4096 || pclusterSize > AlgorithmConfig.PCLUSTER_MAX) {
            throw new IllegalArgumentException("pcluster size " + pclusterSize);
        }
        return switch (this) {
            case ZSTD -> new AlgorithmConfig(algorithm, Integer.highestOneBit(Math.min(AlgorithmConfig.ZSTD_WINDOW_MAX, pclusterSize * 8)), 0);
            case LZMA -> new AlgorithmConfig(algorithm, Math.min(1 << 20, Math.max(32 << 10, pclusterSize * 4)), 0);
            case DEFLATE -> new AlgorithmConfig(algorithm, 1 << DeflatePcluster.WINDOW_BITS, 0);
        };
    }

    /** A compressor for one thread, at {@code level}, consistent with the record {@code cfg}. */
    public DestSizeCompressor newCompressor(int level, AlgorithmConfig cfg) {
        checkLevel(level);
        if (cfg.algorithm() != algorithm) {
            throw new IllegalArgumentException(cfg.algorithm() + " record for " + label);
        }
        return switch (this) {
            case ZSTD -> new ZstdPcluster.StreamCompressor(level, cfg, 8);
            case LZMA -> new MicroLzmaPcluster.Compressor(level, cfg);
            case DEFLATE -> new DeflatePcluster.Compressor(level);
        };
    }

    /** A decoder for one thread for clusters of {@code cfg}'s algorithm (lz4 included). */
    public static PclusterDecoder decoder(AlgorithmConfig cfg) {
        return switch (cfg.algorithm()) {
            case LZ4 -> (src, off, len, dst, dstOff, outLen) -> {
                try {
                    Lz4Decompressor.decompress(src, off, len, dst, dstOff, outLen);
                } catch (Lz4Decompressor.Lz4FormatException e) {
                    throw new CorruptImageException("lz4: " + e.getMessage());
                }
            };
            case ZSTD -> new ZstdPcluster.Decoder(cfg);
            case LZMA -> new MicroLzmaPcluster.Decoder(cfg);
            case DEFLATE -> new DeflatePcluster.Decoder();
        };
    }
}
