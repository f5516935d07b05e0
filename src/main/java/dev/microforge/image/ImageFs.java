package dev.microforge.image;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * A read-only view of a filesystem image (SquashFS or EROFS), implemented by each format's reader.
 * The generic commands (ls, extract, verify) and the fuzz tests are written against this interface.
 * Implementations must reject corrupt images with {@link CorruptImageException}, never loop forever and
 * never allocate more than the image could justify.
 *
 * <p>Implementations are safe for concurrent reads: any number of threads may call any method of the image
 * and of its nodes at the same time (listing directories, opening and reading files, the same file too) and
 * get the same results as one thread would; an {@link InputStream} from {@link FileNode#open()} belongs to one
 * thread. {@code image verify} relies on this: it reads store paths on {@code --threads} threads.
 */
public interface ImageFs extends Closeable {
    /** "squashfs" or "erofs". */
    String type();

    /** The root directory. */
    Node root() throws IOException;

    /** Superblock facts for display (name to value, stable order). */
    Map<String, String> summary();

    sealed interface Node permits DirNode, FileNode, LinkNode {
        /** Permission bits (e.g. 0555). */
        int mode();

        int uid();

        int gid();

        long mtime();
    }

    non-sealed interface DirNode extends Node {
        /** Children in on-disk order (which must be unsigned-byte order of names). */
        List<Child> children() throws IOException;
    }

    non-sealed interface FileNode extends Node {
        long size();

        InputStream open() throws IOException;
    }

    non-sealed interface LinkNode extends Node {
        byte[] target();
    }

    record Child(byte[] name, Node node) {}
}
