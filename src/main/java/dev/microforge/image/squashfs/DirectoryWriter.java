package dev.microforge.image.squashfs;

import dev.microforge.image.squashfs.InodeTree.DirInode;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.image.squashfs.InodeTree.Inode;
import java.util.ArrayList;
import java.util.List;

/**
 * A directory's listing in the directory table: its entries in runs behind one header each, and the index
 * entries (one per run that starts a new metadata block's worth of listing) that go into an extended
 * directory inode.
 */
final class DirectoryWriter {
    /** Entries {@code [from, to)} behind one header; {@code indexed}: the run has an index entry. */
    record Run(int from, int to, boolean indexed) {}

    /**
     * Where a listing is: the directory table block it starts in (relative to the table) and the offset in it,
     * its size as the directory inode records it (the bytes plus 3), and its index entries (encoded).
     */
    record Listing(long block, int offset, long size, List<byte[]> index) {
        Listing {
            index = List.copyOf(index);
        }
    }

    private DirectoryWriter() {}

    /** Writes {@code d}'s listing to {@code dirs}; {@code refs[i]}: the inode reference of its entry i. */
    static Listing write(DirInode d, long[] refs, MetaWriter dirs) {
        long listingBlock = dirs.blockStart();
        int listingOffset = dirs.offset();
        List<byte[]> index = new ArrayList<>();
        int p = 0;
        for (Run run : runs(d, refs)) {
            if (run.indexed()) {
                byte[] name = d.names().get(run.from());
                byte[] ie = new byte[12 + name.length];
                SquashfsOnDisk.putInt(ie, 0, p);
                SquashfsOnDisk.putInt(ie, 4, (int) dirs.blockStart());
                SquashfsOnDisk.putInt(ie, 8, name.length - 1);
                System.arraycopy(name, 0, ie, 12, name.length);
                index.add(ie);
            }
            int firstNumber = d.children().get(run.from()).number();
            byte[] hdr = new byte[12];
            SquashfsOnDisk.putInt(hdr, 0, run.to() - run.from() - 1);
            SquashfsOnDisk.putInt(hdr, 4, (int) (refs[run.from()] >>> 16));
            SquashfsOnDisk.putInt(hdr, 8, firstNumber);
            dirs.write(hdr);
            p += 12;
            for (int i = run.from(); i < run.to(); i++) {
                Inode c = d.children().get(i);
                byte[] name = d.names().get(i);
                byte[] e = new byte[8 + name.length];
                SquashfsOnDisk.putShort(e, 0, (int) (refs[i] & 0xffff));
                SquashfsOnDisk.putShort(e, 2, c.number() - firstNumber);
                SquashfsOnDisk.putShort(e, 4, basicType(c));
                SquashfsOnDisk.putShort(e, 6, name.length - 1);
                System.arraycopy(name, 0, e, 8, name.length);
                dirs.write(e);
                p += e.length;
            }
        }
        return new Listing(listingBlock, listingOffset, p + 3L, index);
    }

    /**
     * Splits a directory's entries into runs behind one header each: at most 256 entries, one inode metadata
     * block, inode numbers within a signed 16-bit delta; a new indexed run whenever the listing has grown by
     * a metadata block since the last index point (as mksquashfs does).
     */
    static List<Run> runs(DirInode d, long[] refs) {
        List<Run> runs = new ArrayList<>();
        int n = d.children().size();
        int p = 0;
        int indexPoint = 0;
        int runStart = -1;
        long runBlock = -1;
        int runBase = 0;
        boolean runIndexed = false;
        for (int i = 0; i < n; i++) {
            Inode c = d.children().get(i);
            int es = 8 + d.names().get(i).length;
            long block = refs[i] >>> 16;
            int delta = c.number() - runBase;
            boolean bigStep = p + es - indexPoint > SquashfsOnDisk.META_SIZE;
            boolean need = runStart < 0 || i - runStart == SquashfsOnDisk.MAX_DIR_RUN || block != runBlock
                    || delta > 32767 || delta < -32768 || bigStep;
            if (need) {
                if (runStart >= 0) {
                    runs.add(new Run(runStart, i, runIndexed));
                }
                runIndexed = false;
                if (p + es - indexPoint > SquashfsOnDisk.META_SIZE) {
                    runIndexed = true;
                    indexPoint = p;
                }
                runStart = i;
                runBlock = block;
                runBase = c.number();
                p += 12;
            }
            p += es;
        }
        if (runStart >= 0) {
            runs.add(new Run(runStart, n, runIndexed));
        }
        return runs;
    }

    /** The basic inode type a directory entry records. */
    private static int basicType(Inode c) {
        if (c instanceof DirInode) {
            return SquashfsOnDisk.DIR;
        }
        if (c instanceof FileInode) {
            return SquashfsOnDisk.FILE;
        }
        return SquashfsOnDisk.SYMLINK;
    }
}
