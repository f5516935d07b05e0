package dev.microforge.image;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The image is not a valid SquashFS/EROFS image: bad input (exit 2). Readers give the detail (what is wrong and
 * where: offset, inode); whoever knows more adds it: the image file ({@link #inImage}, by
 * {@link ImageFormats#read}) and the path inside the image ({@link #at}, by the tree walks). The message is one
 * line: {@code IMG: corrupt image: DETAIL, at /PATH}.
 */
public class CorruptImageException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String detail;
    private final String image;
    private final String path;

    public CorruptImageException(String detail) {
        this(detail, null, null, null);
    }

    public CorruptImageException(String detail, Throwable cause) {
        this(detail, null, null, cause);
    }

    private CorruptImageException(String detail, String image, String path, Throwable cause) {
        super(message(detail, image, path), cause);
        this.detail = detail;
        this.image = image;
        this.path = path;
    }

    private static String message(String detail, String image, String path) {
        return (image != null ? image + ": " : "") + "corrupt image: " + detail + (path != null ? ", at " + path : "");
    }

    /** What is wrong, as the reader said it (without the image file and path). */
    public String detail() {
        return detail;
    }

    /** This exception naming the image file; itself when it already names one. */
    public CorruptImageException inImage(Path file) {
        return image != null ? this : copy(detail, file.toString(), path);
    }

    /** This exception naming the path inside the image where it was found; itself when it already names one. */
    public CorruptImageException at(String imagePath) {
        return path != null ? this : copy(detail, image, imagePath);
    }

    private CorruptImageException copy(String d, String i, String p) {
        CorruptImageException e = new CorruptImageException(d, i, p, getCause());
        e.setStackTrace(getStackTrace());
        for (Throwable s : getSuppressed()) {
            e.addSuppressed(s);
        }
        return e;
    }
}
