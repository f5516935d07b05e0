package dev.microforge.image.erofs;

import dev.microforge.fs.Dir;
import dev.microforge.image.ImageFormat;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.erofs.ErofsWriter.Compression;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** EROFS as the Linux 6.1 kernel reads it: the registry entry ({@code --type erofs}). */
public final class ErofsImageFormat implements ImageFormat<ErofsWriter.Options> {
    static final List<String> COMPRESSIONS = List.of("lz4hc", "lz4", "none", "zstd", "lzma", "deflate");

    @Override
    public String type() {
        return "erofs";
    }

    @Override
    public List<String> compressions() {
        return COMPRESSIONS;
    }

    @Override
    public boolean detect(byte[] head) {
        return ErofsReader.detect(head);
    }

    @Override
    public void write(Dir root, ErofsWriter.Options options, FileChannel out, Path outPath, Events events) throws IOException {
        ErofsWriter.write(root, out, options, events);
    }

    /** Writes the image, copying the unchanged store paths of {@code reuse} (see {@link ErofsWriter#write(Dir, FileChannel, ErofsWriter.Options, Events, Map, Path)}). */
    @Override
    public void write(Dir root, ErofsWriter.Options options, FileChannel out, Path outPath, Events events, Map<String, String> narHashes,
            Path reuse) throws IOException {
        ErofsWriter.write(root, out, options, events, narHashes, reuse);
    }

    @Override
    public ImageFs open(Path image) throws IOException {
        return ErofsReader.open(image);
    }

    /** The writer's options from the generic ones; options that do not apply to EROFS are refused. */
    @Override
    public ErofsWriter.Options options(ImageOptions o) {
        Compression c = o.compression() == null ? Compression.LZ4HC : Compression.parse(o.compression());
        int level = c.defaultLevel();
        if (o.level() != null) {
            if (c != Compression.LZ4HC && c.codec() == null) {
                throw new UserError("--level applies to --compression lz4hc, zstd, lzma and deflate (erofs)");
            }
            level = o.level();
        }
        ImageOptions.rejectIfGiven("erofs", "--xz-bcj", o.xzBcj());
        if (o.blockSize() != null && o.blockSize() != 4096) {
            throw new UserError("--block-size does not apply to --type erofs (its blocks are 4096 bytes; see --pcluster)");
        }
        long pcluster = o.pcluster() == null ? 4096 : o.pcluster();
        if (pcluster < 4096 || pcluster > ErofsWriter.MAX_PCLUSTER || pcluster % 4096 != 0) {
            throw new UserError("--pcluster " + pcluster + ": expected a multiple of 4096 from 4096 to " + ErofsWriter.MAX_PCLUSTER + " (erofs)");
        }
        boolean ztail = Boolean.TRUE.equals(o.tailPacking());
        boolean fragments = Boolean.TRUE.equals(o.fragments());
        if (c == Compression.NONE) {
            if (pcluster != 4096) {
                throw new UserError("--pcluster applies to compressed erofs images (--compression lz4, lz4hc, zstd, lzma or deflate)");
            }
            if (ztail || fragments) {
                throw new UserError((ztail ? "--tail-packing" : "--fragments")
                        + " applies to compressed erofs images (--compression lz4, lz4hc, zstd, lzma or deflate); uncompressed tails are always inlined");
            }
        }
        UUID uuid = null;
        if (o.uuid() != null) {
            try {
                uuid = UUID.fromString(o.uuid());
            } catch (IllegalArgumentException e) {
                throw new UserError("--uuid " + o.uuid() + ": not a UUID (expected 8-4-4-4-12 hex digits)");
            }
            if (!o.uuid().matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
                throw new UserError("--uuid " + o.uuid() + ": not a UUID (expected 8-4-4-4-12 hex digits)");
            }
        }
        String label = o.label() == null ? "nix-store" : o.label();
        return new ErofsWriter.Options(c, level, (int) pcluster, label, uuid, o.threads(), o.mtime(), true, ztail, fragments);
    }
}
