package dev.microforge.image;

import dev.microforge.fs.Dir;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One image type: its options, its writer, its reader, and how to recognize it. Registered in
 * {@link ImageFormats}. {@code O} is the format's own validated options: the generic {@link ImageOptions} go
 * through {@link #options} once, before any work, and the writer takes only {@code O}.
 */
public interface ImageFormat<O extends Record> {
    /** The {@code --type} name: "squashfs" or "erofs". */
    String type();

    /** The compressions {@code --compression} accepts for this type, the default first. */
    List<String> compressions();

    /** True when {@code head} (the first bytes of a file, up to 4096 of them) starts an image of this type. */
    boolean detect(byte[] head);

    /** This format's options from the generic ones: a {@link UserError} naming the first one that does not apply. */
    O options(ImageOptions options);

    /**
     * Writes the image of {@code root} to {@code out} (an empty file, positioned at 0); {@code outPath} is the file
     * behind {@code out} (the temporary output file) or null, which a writer may open a second time (squashfs: for
     * direct I/O). Writers stream file contents and must fail with a {@link UserError} naming the file when a
     * file's size differs from the scanned size.
     */
    void write(Dir root, O options, FileChannel out, Path outPath, Events events) throws IOException;

    /** Validates {@code options} ({@link #options}) and writes the image ({@link #write(Dir, Record, FileChannel, Path, Events)}). */
    default void write(Dir root, ImageOptions options, FileChannel out, Events events) throws IOException {
        write(root, options(options), out, null, events);
    }

    /**
     * As {@link #write(Dir, Record, FileChannel, Path, Events)}, also given the narHash of each top-level
     * entry that is a store path (by name) and {@code reuse}, an earlier image whose unchanged store paths a
     * writer may copy (null: none); the image must be the same as without {@code reuse}. Writers that cannot
     * reuse refuse a non-null {@code reuse}.
     */
    default void write(Dir root, O options, FileChannel out, Path outPath, Events events,
            Map<String, String> narHashes, Path reuse) throws IOException {
        if (reuse != null) {
            throw new UserError("--reuse is not available for --type " + type());
        }
        write(root, options, out, outPath, events);
    }

    /** Opens an image for reading; {@link CorruptImageException} when it is not a valid image of this type. */
    ImageFs open(Path image) throws IOException;
}
