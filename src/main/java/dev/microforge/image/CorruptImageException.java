package dev.microforge.image;

import java.io.IOException;

/** The image is not a valid SquashFS/EROFS image; the message says where (offset, inode) and what. */
public class CorruptImageException extends IOException {
    private static final long serialVersionUID = 1L;

    public CorruptImageException(String message) {
        super(message);
    }
}
