package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.fs.RegularFile;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * An inode of the image being written, one class per kind. What the tree gives (number, mode, links, size of
 * files and symlinks) is final; the data layout ({@link Body}) is decided late, once per inode: files when their
 * data is written, symlinks and directories after the metadata layout (their blocks follow the metadata area).
 */
abstract sealed class Inode permits Inode.Directory, Inode.File, Inode.Link {
    /**
     * How an inode's data is stored.
     *
     * @param layout the data layout (LAYOUT_*)
     * @param iu raw_blkaddr, or the compressed block count
     * @param tail what follows the inode in the metadata area: the inline tail, or the compression index (null:
     *     nothing)
     * @param indexed whether {@code tail} is a compression index (only its map header must share the inode's block)
     */
    record Body(int layout, long iu, byte[] tail, boolean indexed) {
        static final Body EMPTY = new Body(LAYOUT_FLAT_PLAIN, 0, null, false);

        int tailLength() {
            return tail == null ? 0 : tail.length;
        }
    }

    /** Breadth-first number from the root (0); ino = index + 1. */
    final int index;
    final int mode;
    /** The top-level entry (store path) this inode is under: its position among the root's entries; -1 for the root. */
    int group = -1;
    /** The offset in the metadata area (set by the metadata layout). */
    long metaOff = -1;
    private Body body;

    Inode(int index, int mode) {
        this.index = index;
        this.mode = mode;
    }

    abstract long size();

    abstract int nlink();

    /** 64 (extended) when size or link count do not fit the 32-byte compact inode. */
    int isize() {
        return size() > 0xFFFFFFFFL || nlink() > 0xFFFF ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
    }

    /** Bytes after the inode in the metadata area (known before the body for directories and symlinks). */
    int tailLength() {
        return body().tailLength();
    }

    boolean indexed() {
        return body().indexed();
    }

    Body body() {
        if (body == null) {
            throw new IllegalStateException("inode " + index + ": data layout not decided");
        }
        return body;
    }

    void setBody(Body b) {
        if (body != null) {
            throw new IllegalStateException("inode " + index + ": data layout decided twice");
        }
        body = b;
    }

    long nid() {
        return metaOff / 32;
    }

    /** Writes the inode and what follows it at its offset in {@code b}, which holds the metadata area from byte {@code base}. */
    void encode(ByteBuffer b, long base, long mtime, int uid, int gid) {
        Body d = body();
        int p = (int) (metaOff - base);
        boolean ext = isize() == INODE_EXTENDED_SIZE;
        b.putShort(p, (short) ((d.layout() << 1) | (ext ? 1 : 0)));
        b.putShort(p + 2, (short) 0);
        b.putShort(p + 4, (short) mode);
        if (ext) {
            b.putLong(p + 8, size());
            b.putInt(p + 16, (int) d.iu());
            b.putInt(p + 20, index + 1);
            b.putInt(p + 24, uid);
            b.putInt(p + 28, gid);
            b.putLong(p + 32, mtime);
            b.putInt(p + 40, 0);
            b.putInt(p + 44, nlink());
        } else {
            b.putShort(p + 6, (short) nlink());
            b.putInt(p + 8, (int) size());
            b.putInt(p + 16, (int) d.iu());
            b.putInt(p + 20, index + 1);
            b.putShort(p + 24, (short) uid);
            b.putShort(p + 26, (short) gid);
        }
        if (d.tail() != null) {
            b.put(p + isize(), d.tail());
        }
    }

    /** A regular file, or the packed inode (no source file, its content given). */
    static final class File extends Inode {
        /** The source, or null for the packed inode. */
        final RegularFile file;
        final long size;
        /** The packed inode's content while it is written; null for other files. */
        PackedInode packedContent;
        /** Uncompressed dedupe: shares its size with another file, hashed while written. */
        boolean candidate;
        byte[] sha;
        /** The earlier equal file whose data this one shares. */
        File dupOf;
        /** CRC32C of its data map relative to its store path's extents (the reuse table's check). */
        int desc;

        File(int index, int mode, RegularFile file, long size) {
            super(index, mode);
            this.file = file;
            this.size = size;
        }

        @Override
        long size() {
            return size;
        }

        @Override
        int nlink() {
            return 1;
        }
    }

    /** A symlink: its target inline after the inode when it fits, else in blocks after the metadata area. */
    static final class Link extends Inode {
        final byte[] target;

        Link(int index, int mode, byte[] target) {
            super(index, mode);
            this.target = target;
        }

        @Override
        long size() {
            return target.length;
        }

        @Override
        int nlink() {
            return 1;
        }

        boolean inline() {
            return isize() + target.length <= BLOCK_SIZE;
        }

        @Override
        int tailLength() {
            return inline() ? target.length : 0;
        }

        @Override
        boolean indexed() {
            return false;
        }

        int blocks() {
            return inline() ? 0 : (target.length + BLOCK_SIZE - 1) / BLOCK_SIZE;
        }
    }

    /** A directory: its entries as the tree gives them, then as planned into dirent blocks. */
    static final class Directory extends Inode {
        /** The parent, or null for the root. */
        final Directory parent;
        final List<byte[]> names;
        final List<Inode> children;
        final int nlink;
        private Plan plan;

        /**
         * The entries (".", "..", children) sorted by unsigned bytes and cut into dirent blocks.
         *
         * @param blockStarts the entry where each block starts
         * @param size the directory's size (full blocks plus the last block's used bytes)
         * @param lastLen the used bytes of the last block
         * @param inline whether the last block goes inline after the inode
         */
        record Plan(List<byte[]> names, List<Inode> targets, int[] blockStarts, int lastLen, long size, boolean inline) {
            /** Blocks after the metadata area. */
            int fullBlocks() {
                return blockStarts.length - (inline ? 1 : 0);
            }
        }

        Directory(int index, int mode, Directory parent, List<byte[]> names, List<Inode> children, int nlink) {
            super(index, mode);
            this.parent = parent;
            this.names = names;
            this.children = children;
            this.nlink = nlink;
        }

        Plan plan() {
            if (plan == null) {
                throw new IllegalStateException("directory " + index + " not planned");
            }
            return plan;
        }

        void setPlan(Plan p) {
            plan = p;
        }

        @Override
        long size() {
            return plan == null ? 0 : plan.size();
        }

        @Override
        int nlink() {
            return nlink;
        }

        @Override
        int tailLength() {
            return plan().inline() ? plan().lastLen() : 0;
        }

        @Override
        boolean indexed() {
            return false;
        }
    }
}
