package dev.microforge.image;

import dev.microforge.fs.Reproducible;
import dev.microforge.util.UserError;

/**
 * What an image build may be told. A null field means "not given": each format applies its own default and
 * rejects options that do not apply to it ({@link #rejectIfGiven}).
 *
 * @param compression codec name ("zstd", "xz", "gzip", "lz4", "lz4hc", "none"); null = format default
 * @param level compression level; null = the codec's default
 * @param blockSize data block size in bytes (SquashFS); null = format default
 * @param threads compression threads (at least 1)
 * @param pcluster EROFS physical cluster size in bytes
 * @param label EROFS volume label
 * @param uuid EROFS volume UUID (text form); null = derived from the content
 * @param tailPacking pack file tails (EROFS ztailpacking; SquashFS: tails of files larger than a block go to fragments)
 * @param fragments use fragments (SquashFS fragment blocks; EROFS -Efragments)
 * @param mtime the one timestamp every inode gets (see {@link Reproducible#mtime()})
 * @param xzBcj SquashFS xz: when the x86 BCJ filter is used ("auto", "x86", "none"); null = auto
 */
public record ImageOptions(String compression, Integer level, Long blockSize, int threads, Long pcluster,
        String label, String uuid, Boolean tailPacking, Boolean fragments, long mtime, String xzBcj) {
    public ImageOptions {
        if (threads < 1) {
            throw new UserError("--threads must be at least 1 (got " + threads + ")");
        }
        if (threads > 1024) {
            throw new UserError("--threads " + threads + " is too many (at most 1024)");
        }
        if (mtime < 0 || mtime > 0xffffffffL) {
            throw new IllegalArgumentException("mtime out of range: " + mtime);
        }
    }

    /** Everything at its default: the format's compression, all processors, SOURCE_DATE_EPOCH or 0. */
    public static ImageOptions defaults() {
        return new ImageOptions(null, null, null, Pipeline.defaultThreads(), null, null, null, null, null, Reproducible.mtime(), null);
    }

    public ImageOptions withCompression(String c) {
        return new ImageOptions(c, level, blockSize, threads, pcluster, label, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withLevel(Integer l) {
        return new ImageOptions(compression, l, blockSize, threads, pcluster, label, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withBlockSize(Long b) {
        return new ImageOptions(compression, level, b, threads, pcluster, label, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withThreads(int t) {
        return new ImageOptions(compression, level, blockSize, t, pcluster, label, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withMtime(long m) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, label, uuid, tailPacking, fragments, m, xzBcj);
    }

    public ImageOptions withPcluster(Long p) {
        return new ImageOptions(compression, level, blockSize, threads, p, label, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withLabel(String l) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, l, uuid, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withUuid(String u) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, label, u, tailPacking, fragments, mtime, xzBcj);
    }

    public ImageOptions withTailPacking(Boolean t) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, label, uuid, t, fragments, mtime, xzBcj);
    }

    public ImageOptions withFragments(Boolean f) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, label, uuid, tailPacking, f, mtime, xzBcj);
    }

    public ImageOptions withXzBcj(String b) {
        return new ImageOptions(compression, level, blockSize, threads, pcluster, label, uuid, tailPacking, fragments, mtime, b);
    }

    /** Throws a {@link UserError} when {@code value} was given: {@code option} does not apply to {@code type}. */
    public static void rejectIfGiven(String type, String option, Object value) {
        if (value != null) {
            throw new UserError(option + " does not apply to --type " + type);
        }
    }
}
