package dev.microforge.image.squashfs;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Recycled block-sized buffers, shared by the reading, compressing and placing threads: their number is
 * bounded by the blocks in flight, so the heap stays small. Buffers of another length are not kept.
 */
final class BlockPool {
    private final int blockSize;
    private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();

    BlockPool(int blockSize) {
        this.blockSize = blockSize;
    }

    int blockSize() {
        return blockSize;
    }

    /** A buffer of {@link #blockSize} bytes (contents undefined). */
    byte[] take() {
        byte[] b = free.poll();
        return b != null ? b : new byte[blockSize];
    }

    /** Returns a buffer no one uses any more; null and buffers of another length are ignored. */
    void give(byte[] b) {
        if (b != null && b.length == blockSize) {
            free.offer(b);
        }
    }
}
