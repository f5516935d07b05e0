package dev.microforge.image;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Recycled buffers of one length, shared by the reading, compressing and writing threads of an image writer:
 * their number is bounded by the buffers in flight, so the heap stays small. At most {@code maxKept} wait at a
 * time (more given back are dropped); buffers of another length are not kept.
 */
public final class BlockPool {
    private final int blockSize;
    private final int maxKept;
    private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger kept = new AtomicInteger();

    /** A pool that keeps every buffer given back. */
    public BlockPool(int blockSize) {
        this(blockSize, Integer.MAX_VALUE);
    }

    public BlockPool(int blockSize, int maxKept) {
        this.blockSize = blockSize;
        this.maxKept = maxKept;
    }

    public int blockSize() {
        return blockSize;
    }

    /** A buffer of {@link #blockSize} bytes (contents undefined). */
    public byte[] take() {
        byte[] b = free.poll();
        if (b == null) {
            return new byte[blockSize];
        }
        kept.decrementAndGet();
        return b;
    }

    /** Returns a buffer no one uses any more; null and buffers of another length are ignored. */
    public void give(byte[] b) {
        if (b == null || b.length != blockSize) {
            return;
        }
        if (kept.incrementAndGet() <= maxKept) {
            free.offer(b);
        } else {
            kept.decrementAndGet();
        }
    }
}
