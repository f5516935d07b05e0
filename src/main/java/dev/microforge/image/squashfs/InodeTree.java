package dev.microforge.image.squashfs;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.Node;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.Symlink;
import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.List;

/**
 * The image's inodes and their numbers. Numbers follow the write order of the inode table: a directory's
 * children before the directory (a subdirectory's whole subtree where it stands among them), the root last, so
 * {@code inodeCount} is the root's number. Regular files are also listed in tree order ({@link #files}): the
 * order their data is written in, and the order that decides which of two identical files owns the data.
 */
record InodeTree(DirInode root, List<FileInode> files, int inodeCount) {
    InodeTree {
        files = List.copyOf(files);
    }

    sealed interface Inode permits DirInode, FileInode, SymlinkInode {
        int number();
    }

    /** A directory: its entries' names (raw bytes, sorted as the tree gives them) and inodes, in the same order. */
    record DirInode(int number, List<byte[]> names, List<Inode> children) implements Inode {
        DirInode {
            names = List.copyOf(names);
            children = List.copyOf(children);
        }
    }

    /**
     * A regular file, {@code index} in {@link InodeTree#files}; {@code group} is the position of its top-level
     * entry (its store path) among the root's entries: files of one group are consecutive in {@link #files}.
     */
    record FileInode(int number, int index, int group, RegularFile file) implements Inode {}

    /** A symbolic link; its target is 1 to 4096 bytes. */
    record SymlinkInode(int number, byte[] target) implements Inode {}

    /** The numbered tree of {@code root}; a symlink target SquashFS cannot hold is bad input. */
    static InodeTree of(Dir root) {
        Numbering n = new Numbering();
        DirInode r = n.dir(root, "");
        return new InodeTree(r, n.files, n.count);
    }

    private static final class Numbering {
        final List<FileInode> files = new ArrayList<>();
        int count;
        int group = -1;
        boolean atRoot = true;

        /** {@code path}, the directory's path in the image, only names it in errors. */
        DirInode dir(Dir dir, String path) {
            List<byte[]> names = new ArrayList<>();
            List<Inode> children = new ArrayList<>();
            boolean root = atRoot;
            atRoot = false;
            for (Entry e : dir.entries()) {
                if (root) {
                    group++;
                }
                Node n = e.node();
                Inode child;
                if (n instanceof Dir sub) {
                    child = dir(sub, path + "/" + e.displayName());
                } else if (n instanceof RegularFile f) {
                    FileInode fi = new FileInode(++count, files.size(), group, f);
                    files.add(fi);
                    child = fi;
                } else if (n instanceof Symlink s) {
                    byte[] t = s.target();
                    if (t.length == 0 || t.length > 4096) {
                        throw new UserError(path + "/" + e.displayName() + ": symlink target length " + t.length
                                + " is not representable (1 to 4096 bytes)");
                    }
                    child = new SymlinkInode(++count, t);
                } else {
                    throw new IllegalStateException("unknown node " + n);
                }
                names.add(e.nameRef());
                children.add(child);
            }
            return new DirInode(++count, names, children);
        }
    }
}
