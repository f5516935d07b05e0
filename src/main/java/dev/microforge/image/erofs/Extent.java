package dev.microforge.image.erofs;

/**
 * One extent of a compressed file: the logical bytes from {@code start} up to the next extent's start (or the
 * end of the file), stored one way.
 *
 * @param start logical offset (in the file, or in a segment while the segment is compressed)
 * @param kind how the bytes are stored
 * @param addr PLAIN and COMPRESSED: first block (in the image, or in the segment's block buffer); FRAGMENT: offset
 *     in the packed inode; INLINE: 0
 * @param blocks the blocks of its physical cluster (PLAIN: 1; INLINE and FRAGMENT: 0)
 * @param produced COMPRESSED and INLINE: the compressed bytes, right-aligned in the cluster's blocks; else 0
 */
record Extent(long start, Kind kind, long addr, int blocks, int produced) {
    enum Kind {
        /** Stored raw in one block (a PLAIN lcluster). */
        PLAIN,
        /** A compressed physical cluster (a HEAD lcluster). */
        COMPRESSED,
        /** The file's last compressed pcluster, inline after its index (ztailpacking). */
        INLINE,
        /** The file's remainder, in the packed inode (fragments). */
        FRAGMENT
    }

    static Extent plain(long start, long block) {
        return new Extent(start, Kind.PLAIN, block, 1, 0);
    }

    static Extent compressed(long start, long block, int blocks, int produced) {
        return new Extent(start, Kind.COMPRESSED, block, blocks, produced);
    }

    /** Whether the extent has blocks of its own in the data area. */
    boolean inBlocks() {
        return kind == Kind.PLAIN || kind == Kind.COMPRESSED;
    }

    /** The same extent, {@code startBy} bytes and {@code addrBy} blocks further. */
    Extent moved(long startBy, long addrBy) {
        return new Extent(start + startBy, kind, addr + addrBy, blocks, produced);
    }
}
