package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.BLOCK_SIZE;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Placement of inodes in the metadata area (erofs-utils' inode.c placement, packed best-fit): every inode gets a
 * 32-byte aligned slot; one that fits in a block (inode plus inline tail or index) never crosses a block boundary,
 * a larger one has at least its {@code head} in its first block. The space a block boundary leaves is a gap that
 * later inodes fill, smallest gap first, then earliest. Slot 0 (nid 0) stays unused.
 */
final class MetadataLayout {
    private final TreeMap<Integer, ArrayDeque<Long>> gaps = new TreeMap<>();
    private long cursor = 32;

    /**
     * The offset of an inode of {@code size} bytes (inode plus tail) whose first {@code head} bytes must share a
     * block; with {@code fillGaps} false (the root, which must come first), it goes at the end.
     */
    long place(int size, int head, boolean fillGaps) {
        int size32 = (size + 31) / 32 * 32;
        if (size32 <= BLOCK_SIZE && fillGaps) {
            Map.Entry<Integer, ArrayDeque<Long>> e = gaps.ceilingEntry(size32);
            if (e != null) {
                long off = e.getValue().pollFirst();
                if (e.getValue().isEmpty()) {
                    gaps.remove(e.getKey());
                }
                addGap(off + size32, e.getKey() - size32);
                return off;
            }
        }
        int inBlock = (int) (cursor % BLOCK_SIZE);
        int mustFit = size32 <= BLOCK_SIZE ? size32 : head;
        if (inBlock + mustFit > BLOCK_SIZE) {
            addGap(cursor, BLOCK_SIZE - inBlock);
            cursor += BLOCK_SIZE - inBlock;
        }
        long off = cursor;
        cursor += size32;
        return off;
    }

    /** The size of the metadata area so far. */
    long size() {
        return cursor;
    }

    private void addGap(long off, int len) {
        if (len >= 32) {
            gaps.computeIfAbsent(len, k -> new ArrayDeque<>()).add(off);
        }
    }
}
