package dev.microforge.image.squashfs;

import dev.microforge.image.ImageOptions;
import dev.microforge.image.codec.Codec;
import dev.microforge.image.codec.XzCodec;
import dev.microforge.util.UserError;

/**
 * The SquashFS writer's options, validated: {@code level} is the codec's level ({@code levelGiven} false: the
 * codec's default, and the codec may choose per block, {@link Codec#newDefaultCompressor}); {@code blockSize} a
 * power of two from 4 KiB to 1 MiB; {@code mtime} the one modification time of every inode.
 */
public record SquashfsOptions(Codec codec, int level, boolean levelGiven, int blockSize, int threads, boolean fragments,
        boolean tailPacking, int mtime) {
    static final int DEFAULT_BLOCK_SIZE = 128 * 1024;

    /** From the generic options: a {@link UserError} naming the first option that does not apply to SquashFS. */
    public static SquashfsOptions of(ImageOptions options) {
        ImageOptions.rejectIfGiven("squashfs", "--pcluster", options.pcluster());
        ImageOptions.rejectIfGiven("squashfs", "--label", options.label());
        ImageOptions.rejectIfGiven("squashfs", "--uuid", options.uuid());
        String c = options.compression() == null ? "zstd" : options.compression();
        if (!SquashfsImageFormat.COMPRESSIONS.contains(c)) {
            throw new UserError("--compression " + c + " is not available for squashfs (expected one of "
                    + String.join(", ", SquashfsImageFormat.COMPRESSIONS) + ")");
        }
        if (options.xzBcj() != null && !c.equals("xz")) {
            throw new UserError("--xz-bcj applies to --compression xz only (got " + c + ")");
        }
        Codec codec = c.equals("xz") && options.xzBcj() != null ? new XzCodec(XzCodec.Bcj.named(options.xzBcj())) : Codec.named(c);
        boolean levelGiven = options.level() != null;
        int level = levelGiven ? options.level() : codec.defaultLevel();
        codec.checkLevel(level);
        codec.prepare(level);
        long bs = options.blockSize() == null ? DEFAULT_BLOCK_SIZE : options.blockSize();
        if (bs < 4096 || bs > 1 << 20 || Long.bitCount(bs) != 1) {
            throw new UserError("--block-size " + bs + " is invalid for squashfs: a power of two from 4K to 1M");
        }
        return new SquashfsOptions(codec, level, levelGiven, (int) bs, options.threads(),
                options.fragments() == null || options.fragments(), options.tailPacking() == null || options.tailPacking(),
                (int) options.mtime());
    }
}
