package dev.microforge.image.squashfs;

import dev.microforge.fs.Reproducible;
import dev.microforge.image.squashfs.DataWriter.FileData;
import dev.microforge.image.squashfs.DirectoryWriter.Listing;
import dev.microforge.image.squashfs.InodeTree.DirInode;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.image.squashfs.InodeTree.SymlinkInode;
import dev.microforge.util.UserError;

/**
 * The bytes of each inode in the inode table: the common header (type, permissions, uid/gid index 0, the one
 * mtime, the number), then the basic or extended body of a directory, regular file or symlink. The basic form
 * is used whenever its fields can hold the values.
 */
final class InodeEncoder {
    private final int mtime;

    InodeEncoder(int mtime) {
        this.mtime = mtime;
    }

    private void header(byte[] b, int type, int mode, int number) {
        SquashfsOnDisk.putShort(b, 0, type);
        SquashfsOnDisk.putShort(b, 2, mode & 07777);
        SquashfsOnDisk.putShort(b, 4, 0);
        SquashfsOnDisk.putShort(b, 6, 0);
        SquashfsOnDisk.putInt(b, 8, mtime);
        SquashfsOnDisk.putInt(b, 12, number);
    }

    byte[] symlink(SymlinkInode l) {
        byte[] t = l.target();
        byte[] b = new byte[24 + t.length];
        header(b, SquashfsOnDisk.SYMLINK, Reproducible.SYMLINK_MODE, l.number());
        SquashfsOnDisk.putInt(b, 16, 1);
        SquashfsOnDisk.putInt(b, 20, t.length);
        System.arraycopy(t, 0, b, 24, t.length);
        return b;
    }

    /** A regular file whose data is at {@code d}: extended when it is 4 GiB or more, starts that far, or is sparse. */
    byte[] file(FileInode f, FileData d) {
        long size = f.file().size();
        int[] sizes = d.sizes();
        int fragOffset = d.fragIndex() == SquashfsOnDisk.INVALID_FRAG ? 0 : d.fragOffset();
        boolean ext = size >= 1L << 32 || d.start() >= 1L << 32 || d.sparse() > 0;
        if (!ext) {
            byte[] b = new byte[32 + 4 * sizes.length];
            header(b, SquashfsOnDisk.FILE, f.file().mode(), f.number());
            SquashfsOnDisk.putInt(b, 16, (int) d.start());
            SquashfsOnDisk.putInt(b, 20, d.fragIndex());
            SquashfsOnDisk.putInt(b, 24, fragOffset);
            SquashfsOnDisk.putInt(b, 28, (int) size);
            for (int i = 0; i < sizes.length; i++) {
                SquashfsOnDisk.putInt(b, 32 + 4 * i, sizes[i]);
            }
            return b;
        }
        byte[] b = new byte[56 + 4 * sizes.length];
        header(b, SquashfsOnDisk.LREG, f.file().mode(), f.number());
        SquashfsOnDisk.putLong(b, 16, d.start());
        SquashfsOnDisk.putLong(b, 24, size);
        SquashfsOnDisk.putLong(b, 32, d.sparse());
        SquashfsOnDisk.putInt(b, 40, 1);
        SquashfsOnDisk.putInt(b, 44, d.fragIndex());
        SquashfsOnDisk.putInt(b, 48, fragOffset);
        SquashfsOnDisk.putInt(b, 52, SquashfsOnDisk.INVALID_XATTR);
        for (int i = 0; i < sizes.length; i++) {
            SquashfsOnDisk.putInt(b, 56 + 4 * i, sizes[i]);
        }
        return b;
    }

    /**
     * A directory with listing {@code l}, {@code subdirs} subdirectories and parent inode {@code parent}: basic
     * when it has no index and its listing fits the basic fields, else extended, followed by its index entries.
     */
    byte[] directory(DirInode d, Listing l, int subdirs, int parent) {
        int nlink = 2 + subdirs;
        if (l.index().isEmpty() && l.size() <= 0xffff && l.block() <= 0xffffffffL) {
            byte[] b = new byte[32];
            header(b, SquashfsOnDisk.DIR, Reproducible.DIR_MODE, d.number());
            SquashfsOnDisk.putInt(b, 16, (int) l.block());
            SquashfsOnDisk.putInt(b, 20, nlink);
            SquashfsOnDisk.putShort(b, 24, (int) l.size());
            SquashfsOnDisk.putShort(b, 26, l.offset());
            SquashfsOnDisk.putInt(b, 28, parent);
            return b;
        }
        if (l.index().size() > 0xffff) {
            throw new UserError("a directory is too large for squashfs (directory index over 65535 entries)");
        }
        int len = 40;
        for (byte[] ie : l.index()) {
            len += ie.length;
        }
        byte[] b = new byte[len];
        header(b, SquashfsOnDisk.LDIR, Reproducible.DIR_MODE, d.number());
        SquashfsOnDisk.putInt(b, 16, nlink);
        SquashfsOnDisk.putInt(b, 20, (int) l.size());
        SquashfsOnDisk.putInt(b, 24, (int) l.block());
        SquashfsOnDisk.putInt(b, 28, parent);
        SquashfsOnDisk.putShort(b, 32, l.index().size());
        SquashfsOnDisk.putShort(b, 34, l.offset());
        SquashfsOnDisk.putInt(b, 36, SquashfsOnDisk.INVALID_XATTR);
        int p = 40;
        for (byte[] ie : l.index()) {
            System.arraycopy(ie, 0, b, p, ie.length);
            p += ie.length;
        }
        return b;
    }
}
