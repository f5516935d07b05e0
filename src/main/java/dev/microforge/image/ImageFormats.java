package dev.microforge.image;

import dev.microforge.image.erofs.ErofsImageFormat;
import dev.microforge.image.squashfs.SquashfsImageFormat;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The registry of image types, keyed by {@code --type} name. Each format adds one entry to {@link #ALL}. */
public final class ImageFormats {
    private static final List<ImageFormat> ALL = List.of(
            new SquashfsImageFormat(),
            new ErofsImageFormat());

    private ImageFormats() {}

    public static List<ImageFormat> all() {
        return ALL;
    }

    public static List<String> types() {
        List<String> t = new ArrayList<>();
        for (ImageFormat f : ALL) {
            t.add(f.type());
        }
        return t;
    }

    public static ImageFormat byType(String type) {
        for (ImageFormat f : ALL) {
            if (f.type().equals(type)) {
                return f;
            }
        }
        throw new UserError("unknown image type '" + type + "': expected one of " + String.join(", ", types()));
    }

    /** The format of an existing image, recognized by its magic number. */
    public static ImageFormat detect(Path image) throws IOException {
        InputFiles.requireRegular(image);
        byte[] head;
        try (InputStream in = Files.newInputStream(image)) {
            head = in.readNBytes(4096);
        } catch (NoSuchFileException e) {
            throw new UserError(image + ": no such file");
        }
        for (ImageFormat f : ALL) {
            if (f.detect(head)) {
                return f;
            }
        }
        throw new UserError(image + ": not a SquashFS or EROFS image (no known magic number)");
    }

    /** Opens an image of any registered type. */
    public static ImageFs open(Path image) throws IOException {
        return detect(image).open(image);
    }

    /** What a command does with an open image. */
    @FunctionalInterface
    public interface ImageAction<T> {
        T apply(ImageFs fs) throws IOException;
    }

    /**
     * Opens {@code image}, runs {@code action} on it and closes it. A {@link CorruptImageException} from
     * opening or from {@code action} names {@code image}: readers say what is wrong and where inside the image,
     * the file they read is added here, once for every command.
     */
    public static <T> T read(Path image, ImageAction<T> action) throws IOException {
        try (ImageFs fs = open(image)) {
            return action.apply(fs);
        } catch (CorruptImageException e) {
            throw e.inImage(image);
        }
    }
}
