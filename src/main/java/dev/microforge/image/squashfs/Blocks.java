package dev.microforge.image.squashfs;

import dev.microforge.image.BlockPool;
import java.io.IOException;

/**
 * One file's data blocks in order, each in a buffer of its own (a {@link BlockPool} buffer, or exactly as long
 * as a short last block). Buffers handed out belong to the caller; those never taken go back to the pool on
 * {@link #close}.
 */
interface Blocks extends AutoCloseable {
    /** The next block, {@code len} bytes. */
    byte[] next(int len) throws IOException;

    /** After the last block: checks that the file has no more bytes. */
    void finish() throws IOException;

    @Override
    void close() throws IOException;

    /** Blocks already in memory (a whole file read by the duplicate check; its end already checked). */
    static Blocks of(byte[][] blocks, BlockPool pool) {
        return new Blocks() {
            private int at;

            @Override
            public byte[] next(int len) {
                byte[] b = blocks[at];
                blocks[at++] = null;
                return b;
            }

            @Override
            public void finish() {
                // the end was checked when the blocks were read
            }

            @Override
            public void close() {
                for (int i = at; i < blocks.length; i++) {
                    pool.give(blocks[i]);
                }
            }
        };
    }
}
