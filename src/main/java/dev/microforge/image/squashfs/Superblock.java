package dev.microforge.image.squashfs;

import dev.microforge.image.CorruptImageException;

/**
 * The 96-byte SquashFS 4.0 superblock, as squashfs-tools-ng's {@code sqfs_super_t}: one layout for the writer
 * ({@link #encode}) and the reader ({@link #decode}). Table starts are absolute image offsets;
 * {@link SquashfsOnDisk#INVALID} marks an absent table. {@code mtime} is the unsigned 32-bit field.
 */
record Superblock(
        int inodeCount,
        long mtime,
        int blockSize,
        int fragmentCount,
        int compressor,
        int blockLog,
        int flags,
        int idCount,
        int versionMajor,
        int versionMinor,
        long rootInodeRef,
        long bytesUsed,
        long idTableStart,
        long xattrTableStart,
        long inodeTableStart,
        long directoryTableStart,
        long fragmentTableStart,
        long exportTableStart) {
    static final int SIZE = SquashfsOnDisk.SUPERBLOCK_SIZE;

    /** The little-endian on-disk bytes. */
    byte[] encode() {
        byte[] sb = new byte[SIZE];
        SquashfsOnDisk.putInt(sb, 0, SquashfsOnDisk.MAGIC);
        SquashfsOnDisk.putInt(sb, 4, inodeCount);
        SquashfsOnDisk.putInt(sb, 8, (int) mtime);
        SquashfsOnDisk.putInt(sb, 12, blockSize);
        SquashfsOnDisk.putInt(sb, 16, fragmentCount);
        SquashfsOnDisk.putShort(sb, 20, compressor);
        SquashfsOnDisk.putShort(sb, 22, blockLog);
        SquashfsOnDisk.putShort(sb, 24, flags);
        SquashfsOnDisk.putShort(sb, 26, idCount);
        SquashfsOnDisk.putShort(sb, 28, versionMajor);
        SquashfsOnDisk.putShort(sb, 30, versionMinor);
        SquashfsOnDisk.putLong(sb, 32, rootInodeRef);
        SquashfsOnDisk.putLong(sb, 40, bytesUsed);
        SquashfsOnDisk.putLong(sb, 48, idTableStart);
        SquashfsOnDisk.putLong(sb, 56, xattrTableStart);
        SquashfsOnDisk.putLong(sb, 64, inodeTableStart);
        SquashfsOnDisk.putLong(sb, 72, directoryTableStart);
        SquashfsOnDisk.putLong(sb, 80, fragmentTableStart);
        SquashfsOnDisk.putLong(sb, 88, exportTableStart);
        return sb;
    }

    /**
     * The fields of {@code sb} (at least {@link #SIZE} bytes). Checks only the magic; the reader checks the
     * values against the image.
     */
    static Superblock decode(byte[] sb) throws CorruptImageException {
        if (sb.length < SIZE) {
            throw new CorruptImageException("file is shorter than a superblock (" + sb.length + " bytes)");
        }
        if (SquashfsOnDisk.getInt(sb, 0) != SquashfsOnDisk.MAGIC) {
            throw new CorruptImageException("bad magic (not a SquashFS image)");
        }
        return new Superblock(
                SquashfsOnDisk.getInt(sb, 4),
                SquashfsOnDisk.getInt(sb, 8) & 0xffffffffL,
                SquashfsOnDisk.getInt(sb, 12),
                SquashfsOnDisk.getInt(sb, 16),
                SquashfsOnDisk.getShort(sb, 20),
                SquashfsOnDisk.getShort(sb, 22),
                SquashfsOnDisk.getShort(sb, 24),
                SquashfsOnDisk.getShort(sb, 26),
                SquashfsOnDisk.getShort(sb, 28),
                SquashfsOnDisk.getShort(sb, 30),
                SquashfsOnDisk.getLong(sb, 32),
                SquashfsOnDisk.getLong(sb, 40),
                SquashfsOnDisk.getLong(sb, 48),
                SquashfsOnDisk.getLong(sb, 56),
                SquashfsOnDisk.getLong(sb, 64),
                SquashfsOnDisk.getLong(sb, 72),
                SquashfsOnDisk.getLong(sb, 80),
                SquashfsOnDisk.getLong(sb, 88));
    }
}
