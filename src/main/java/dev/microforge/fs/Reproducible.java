package dev.microforge.fs;

import dev.microforge.util.UserError;

/**
 * The one place that owns the reproducibility rules of images (after Jib's ReproducibleLayerBuilder):
 * owner and group 0; one fixed mtime ({@code SOURCE_DATE_EPOCH} when set, else 0); Nix's canonical modes
 * (directories 0555, files 0444, or 0555 when the owner execute bit is set, symlinks 0777), so umask and
 * checkout modes do not matter; names sorted by unsigned bytes; hard links dereferenced.
 */
public final class Reproducible {
    public static final int DIR_MODE = 0555;
    public static final int FILE_MODE = 0444;
    public static final int EXEC_FILE_MODE = 0555;
    public static final int SYMLINK_MODE = 0777;
    public static final int UID = 0;
    public static final int GID = 0;

    private Reproducible() {}

    /** The mtime every inode gets: SOURCE_DATE_EPOCH when set and valid, else 0. */
    public static long mtime() {
        return mtime(System.getenv("SOURCE_DATE_EPOCH"));
    }

    static long mtime(String sourceDateEpoch) {
        if (sourceDateEpoch == null || sourceDateEpoch.isBlank()) {
            return 0;
        }
        try {
            long v = Long.parseLong(sourceDateEpoch.trim());
            if (v < 0 || v > 0xffffffffL) {
                throw new UserError("SOURCE_DATE_EPOCH=" + sourceDateEpoch + " is out of range");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new UserError("SOURCE_DATE_EPOCH=" + sourceDateEpoch + " is not an integer");
        }
    }
}
