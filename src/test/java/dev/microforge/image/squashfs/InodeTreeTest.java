package dev.microforge.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.Node;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.Symlink;
import dev.microforge.image.squashfs.DirectoryWriter.Run;
import dev.microforge.image.squashfs.InodeTree.DirInode;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.image.squashfs.InodeTree.SymlinkInode;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Inode numbering in inode-table write order, and the directory runs of the format's rules (worked by hand). */
class InodeTreeTest {
    private static Entry e(String name, Node n) {
        return new Entry(name.getBytes(StandardCharsets.UTF_8), n);
    }

    private static RegularFile file(String content) {
        return RegularFile.inMemory(content.getBytes(StandardCharsets.UTF_8), false);
    }

    @Test
    void childrenBeforeTheirDirectoryRootLastFilesInTreeOrder() {
        // root { a: file, b: dir { x: file, y: symlink }, c: file }: a=1, x=2, y=3, b=4, c=5, root=6
        Dir b = new Dir(List.of(e("x", file("x")), e("y", new Symlink("x".getBytes(StandardCharsets.UTF_8)))));
        Dir root = new Dir(List.of(e("a", file("a")), e("b", b), e("c", file("c"))));
        InodeTree t = InodeTree.of(root);
        assertEquals(6, t.inodeCount());
        assertEquals(6, t.root().number());
        FileInode a = (FileInode) t.root().children().get(0);
        DirInode bi = (DirInode) t.root().children().get(1);
        FileInode c = (FileInode) t.root().children().get(2);
        FileInode x = (FileInode) bi.children().get(0);
        SymlinkInode y = (SymlinkInode) bi.children().get(1);
        assertEquals(List.of(1, 2, 3, 4, 5), List.of(a.number(), x.number(), y.number(), bi.number(), c.number()));
        assertEquals(3, t.files().size());
        assertSame(a, t.files().get(0));
        assertSame(x, t.files().get(1));
        assertSame(c, t.files().get(2));
        for (int i = 0; i < 3; i++) {
            assertEquals(i, t.files().get(i).index());
        }
    }

    @Test
    void aSymlinkTargetOver4096BytesIsBadInputNamingIt() {
        Dir sub = new Dir(List.of(e("long", new Symlink(new byte[4097]))));
        UserError err = assertThrows(UserError.class, () -> InodeTree.of(new Dir(List.of(e("d", sub)))));
        assertEquals("/d/long: symlink target length 4097 is not representable (1 to 4096 bytes)", err.getMessage());
    }

    private static DirInode wide(int n) {
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            entries.add(e(String.format("entry-%03d", i), file("")));
        }
        return InodeTree.of(new Dir(entries)).root();
    }

    @Test
    void runsOf256AndANewIndexedRunEveryMetadataBlockOfListing() {
        // 9-byte names: 17 bytes per entry, 12 per header. Runs of 256 from entry 0 and 256; before entry 480 the
        // listing has grown 24 + 480 * 17 + 17 > 8192 bytes since the start: a new, indexed run there
        DirInode d = wide(600);
        long[] refs = new long[600];
        assertEquals(List.of(new Run(0, 256, false), new Run(256, 480, false), new Run(480, 600, true)),
                DirectoryWriter.runs(d, refs));
    }

    @Test
    void aNewRunWhereTheInodeBlockChanges() {
        DirInode d = wide(300);
        long[] refs = new long[300];
        for (int i = 100; i < 300; i++) {
            refs[i] = 8200L << 16 | (i - 100) * 32;
        }
        assertEquals(List.of(new Run(0, 100, false), new Run(100, 300, false)), DirectoryWriter.runs(d, refs));
        MetaWriter dirs = new MetaWriter(null);
        DirectoryWriter.Listing l = DirectoryWriter.write(d, refs, dirs);
        assertEquals(0, l.block());
        assertEquals(0, l.offset());
        assertEquals(2 * 12 + 300 * 17 + 3, l.size());
        assertTrue(l.index().isEmpty());
    }
}
