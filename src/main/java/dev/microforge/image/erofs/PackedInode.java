package dev.microforge.image.erofs;

import java.util.Arrays;

/**
 * The content of the packed inode (fragments, erofs-utils' fragments.c): the tails of compressed files, appended
 * in inode order, kept in memory up to {@link #MAX} bytes. The writer then compresses it like a file; the
 * superblock's packed_nid names it.
 */
final class PackedInode {
    /** The most kept in memory; a tail that does not fit stays in its file's own pclusters. */
    static final int MAX = 1 << 30;

    private byte[] buf = new byte[0];
    private int len;

    /** Whether {@code n} more bytes fit. */
    boolean fits(int n) {
        return (long) len + n <= MAX;
    }

    /** Appends {@code src[off, off+n)}; returns its offset in the packed inode (h_fragmentoff). */
    long append(byte[] src, int off, int n) {
        if (!fits(n)) {
            throw new IllegalStateException("packed inode full");
        }
        if (len + n > buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(MAX, Math.max((long) buf.length * 2, len + (long) n)));
        }
        System.arraycopy(src, off, buf, len, n);
        long at = len;
        len += n;
        return at;
    }

    boolean isEmpty() {
        return len == 0;
    }

    /** The content so far; the buffer is released. */
    byte[] take() {
        byte[] b = Arrays.copyOf(buf, len);
        buf = null;
        return b;
    }
}
