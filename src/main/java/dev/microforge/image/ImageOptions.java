package dev.microforge.image;

import dev.microforge.fs.Reproducible;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;

/**
 * What an image build may be told. A null field means "not given": each format applies its own default and
 * rejects options that do not apply to it ({@link #rejectIfGiven}). Build one with {@link #builder()}, or change one
 * option of an existing one with its {@code withX} (a copy through {@link #toBuilder()}).
 *
 * @param compression codec name ("zstd", "xz", "gzip", "lz4", "lz4hc", "none"); null = format default
 * @param level compression level; null = the codec's default
 * @param blockSize data block size in bytes (SquashFS); null = format default
 * @param threads worker threads ({@link Threads}: 1 to {@link Threads#MAX})
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
        Threads.check(threads);
        if (mtime < 0 || mtime > 0xffffffffL) {
            throw new IllegalArgumentException("mtime out of range: " + mtime);
        }
    }

    /** Everything at its default: the format's compression, {@link Threads#available()}, SOURCE_DATE_EPOCH or 0. */
    public static ImageOptions defaults() {
        return builder().build();
    }

    /** A builder with every option at its default (see {@link #defaults()}). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.compression = compression;
        b.level = level;
        b.blockSize = blockSize;
        b.threads = threads;
        b.pcluster = pcluster;
        b.label = label;
        b.uuid = uuid;
        b.tailPacking = tailPacking;
        b.fragments = fragments;
        b.mtime = mtime;
        b.xzBcj = xzBcj;
        return b;
    }

    public ImageOptions withCompression(String value) {
        return toBuilder().compression(value).build();
    }

    public ImageOptions withLevel(Integer value) {
        return toBuilder().level(value).build();
    }

    public ImageOptions withBlockSize(Long value) {
        return toBuilder().blockSize(value).build();
    }

    public ImageOptions withThreads(int value) {
        return toBuilder().threads(value).build();
    }

    public ImageOptions withPcluster(Long value) {
        return toBuilder().pcluster(value).build();
    }

    public ImageOptions withLabel(String value) {
        return toBuilder().label(value).build();
    }

    public ImageOptions withUuid(String value) {
        return toBuilder().uuid(value).build();
    }

    public ImageOptions withTailPacking(Boolean value) {
        return toBuilder().tailPacking(value).build();
    }

    public ImageOptions withFragments(Boolean value) {
        return toBuilder().fragments(value).build();
    }

    public ImageOptions withMtime(long value) {
        return toBuilder().mtime(value).build();
    }

    public ImageOptions withXzBcj(String value) {
        return toBuilder().xzBcj(value).build();
    }

    /** Sets options one by one; {@link #build()} validates them (as the record's constructor does). */
    public static final class Builder {
        private String compression;
        private Integer level;
        private Long blockSize;
        private int threads = Threads.available().count();
        private Long pcluster;
        private String label;
        private String uuid;
        private Boolean tailPacking;
        private Boolean fragments;
        private long mtime = Reproducible.mtime();
        private String xzBcj;

        private Builder() {}

        public Builder compression(String value) {
            this.compression = value;
            return this;
        }

        public Builder level(Integer value) {
            this.level = value;
            return this;
        }

        public Builder blockSize(Long value) {
            this.blockSize = value;
            return this;
        }

        public Builder threads(int value) {
            this.threads = value;
            return this;
        }

        public Builder pcluster(Long value) {
            this.pcluster = value;
            return this;
        }

        public Builder label(String value) {
            this.label = value;
            return this;
        }

        public Builder uuid(String value) {
            this.uuid = value;
            return this;
        }

        public Builder tailPacking(Boolean value) {
            this.tailPacking = value;
            return this;
        }

        public Builder fragments(Boolean value) {
            this.fragments = value;
            return this;
        }

        public Builder mtime(long value) {
            this.mtime = value;
            return this;
        }

        public Builder xzBcj(String value) {
            this.xzBcj = value;
            return this;
        }

        public ImageOptions build() {
            return new ImageOptions(compression, level, blockSize, threads, pcluster, label, uuid, tailPacking, fragments,
                    mtime, xzBcj);
        }
    }

    /** Throws a {@link UserError} when {@code value} was given: {@code option} does not apply to {@code type}. */
    public static void rejectIfGiven(String type, String option, Object value) {
        if (value != null) {
            throw new UserError(option + " does not apply to --type " + type);
        }
    }
}
