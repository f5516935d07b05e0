package dev.microforge.image.erofs;

/**
 * On-disk constants of EROFS as the Linux 6.1 kernel reads it ({@code fs/erofs/erofs_fs.h} of v6.1). Only the
 * subset microforge writes is listed; see docs/erofs.md for why each feature is safe for 6.1.
 */
final class ErofsOnDisk {
    private ErofsOnDisk() {}

    static final int BLOCK_SIZE = 4096;
    static final int BLOCK_BITS = 12;
    static final int SUPER_OFFSET = 1024;
    static final int SUPER_SIZE = 128;
    static final int MAGIC = 0xE0F5E1E2;

    static final int FEATURE_COMPAT_SB_CHKSUM = 0x1;
    static final int FEATURE_COMPAT_MTIME = 0x2;
    /** LZ4 data is right-aligned in its physical cluster, zero-padded in front (5.3+). */
    static final int FEATURE_INCOMPAT_ZERO_PADDING = 0x1;
    static final int FEATURE_INCOMPAT_COMPR_CFGS = 0x2;
    static final int FEATURE_INCOMPAT_BIG_PCLUSTER = 0x2;
    static final int FEATURE_INCOMPAT_CHUNKED_FILE = 0x4;
    static final int FEATURE_INCOMPAT_DEVICE_TABLE = 0x8;
    static final int FEATURE_INCOMPAT_ZTAILPACKING = 0x10;
    static final int FEATURE_INCOMPAT_FRAGMENTS = 0x20;

    static final int INODE_COMPACT_SIZE = 32;
    static final int INODE_EXTENDED_SIZE = 64;
    static final int LAYOUT_FLAT_PLAIN = 0;
    static final int LAYOUT_COMPRESSED_FULL = 1;
    static final int LAYOUT_FLAT_INLINE = 2;
    static final int LAYOUT_COMPRESSED_COMPACT = 3;
    static final int LAYOUT_CHUNK_BASED = 4;

    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;

    static final int FT_REG_FILE = 1;
    static final int FT_DIR = 2;
    static final int FT_SYMLINK = 7;

    static final int DIRENT_SIZE = 12;

    /** Map header (8 bytes) plus the legacy padding (8 bytes) before full (legacy) lcluster indexes. */
    static final int LEGACY_MAP_HEADER_SIZE = 16;
    static final int LCLUSTER_INDEX_SIZE = 8;
    static final int CLUSTER_TYPE_PLAIN = 0;
    static final int CLUSTER_TYPE_HEAD = 1;
    static final int CLUSTER_TYPE_NONHEAD = 2;
    static final int CLUSTER_TYPE_HEAD2 = 3;
    static final int ADVISE_COMPACTED_2B = 0x1;
    static final int ADVISE_BIG_PCLUSTER_1 = 0x2;
    static final int ADVISE_BIG_PCLUSTER_2 = 0x4;
    static final int ADVISE_INLINE_PCLUSTER = 0x8;
    static final int ADVISE_INTERLACED_PCLUSTER = 0x10;
    static final int ADVISE_FRAGMENT_PCLUSTER = 0x20;
    static final int D0_CBLKCNT = 1 << 11;
    static final int COMPRESSION_LZ4 = 0;

    static int dirFileType(int mode) {
        return switch (mode & S_IFMT) {
            case S_IFDIR -> FT_DIR;
            case S_IFREG -> FT_REG_FILE;
            case S_IFLNK -> FT_SYMLINK;
            default -> 0;
        };
    }

    /** The superblock checksum as the kernel computes it: crc32c with seed ~0 and no final inversion. */
    static int superblockChecksum(byte[] block0) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(block0, SUPER_OFFSET, BLOCK_SIZE - SUPER_OFFSET);
        return ~(int) c.getValue();
    }
}
