package dev.microforge.image.squashfs;

import dev.microforge.fs.Dir;
import dev.microforge.image.ImageFormat;
import dev.microforge.image.ImageFs;
import dev.microforge.image.ImageOptions;
import dev.microforge.util.Events;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** SquashFS 4.0: the registry entry ({@code --type squashfs}). */
public final class SquashfsImageFormat implements ImageFormat<SquashfsOptions> {
    static final List<String> COMPRESSIONS = List.of("zstd", "xz", "gzip", "lz4", "none");

    @Override
    public String type() {
        return "squashfs";
    }

    @Override
    public List<String> compressions() {
        return COMPRESSIONS;
    }

    @Override
    public boolean detect(byte[] head) {
        return head.length >= 4 && SquashfsOnDisk.getInt(head, 0) == SquashfsOnDisk.MAGIC;
    }

    @Override
    public SquashfsOptions options(ImageOptions options) {
        return SquashfsOptions.of(options);
    }

    @Override
    public void write(Dir root, SquashfsOptions options, FileChannel out, Path outPath, Events events) throws IOException {
        new SquashfsWriter(options, events).write(root, out, outPath);
    }

    @Override
    public void write(Dir root, SquashfsOptions options, FileChannel out, Path outPath, Events events,
            Map<String, String> narHashes, Path reuse) throws IOException {
        new SquashfsWriter(options, events).write(root, out, outPath, narHashes, reuse);
    }

    @Override
    public ImageFs open(Path image) throws IOException {
        return SquashfsReader.open(image);
    }
}
