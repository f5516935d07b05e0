package dev.microforge.fs;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A regular file: its bytes come from {@code source} on disk or from {@code data} in memory (generated files
 * such as the registration). {@code size} is the size seen when the tree was scanned; writers must fail if
 * the file no longer has that size when read.
 */
public record RegularFile(Path source, byte[] data, long size, boolean executable) implements Node {
    public RegularFile {
        if ((source == null) == (data == null)) {
            throw new IllegalArgumentException("exactly one of source and data");
        }
        if (data != null) {
            data = data.clone();
            size = data.length;
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size");
        }
    }

    public static RegularFile onDisk(Path source, long size, boolean executable) {
        return new RegularFile(source, null, size, executable);
    }

    public static RegularFile inMemory(byte[] data, boolean executable) {
        return new RegularFile(null, data, data.length, executable);
    }

    @Override
    public byte[] data() {
        return data == null ? null : data.clone();
    }

    @Override
    public int mode() {
        return executable ? Reproducible.EXEC_FILE_MODE : Reproducible.FILE_MODE;
    }

    public InputStream open() throws IOException {
        return data != null ? new ByteArrayInputStream(data) : Files.newInputStream(source);
    }

    /** Where the bytes come from, for messages. */
    public String origin() {
        return source != null ? source.toString() : "(generated)";
    }
}
