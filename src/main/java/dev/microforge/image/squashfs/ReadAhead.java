package dev.microforge.image.squashfs;

import dev.microforge.image.BlockPool;
import dev.microforge.image.source.SourceFile;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.util.Tasks;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Predicate;

/**
 * Reads file data ahead of the producer, on reader threads ({@code --threads} of them), so that opening and
 * reading the files (on the benchmark corpus about 2.5 s of CPU, half of it in the kernel) runs in parallel
 * instead of on the producer thread, which would otherwise be the slowest stage of a fast build (lz4, none).
 * Chunks are scheduled and taken strictly in the producer's order (files in tree order, blocks in file
 * order), so the data, and the first error reported, are those of a sequential read. Memory: at most
 * {@link #AHEAD_BYTES} ahead. Files it does not cover (the predicate given) are read by the producer itself
 * ({@link #blocks} reads them on the calling thread). Used by one producer thread.
 */
final class ReadAhead implements AutoCloseable {
    /** File data in chunks of up to this many bytes... */
    private static final int CHUNK_BYTES = 1 << 20;
    /** ...at most this many bytes and chunks read but not yet taken by the producer. */
    private static final long AHEAD_BYTES = 32L << 20;
    private static final int AHEAD_CHUNKS = 1024;

    private record Chunk(FileInode file, long bytes, Future<byte[][]> data) {}

    private final List<FileInode> files;
    private final Predicate<FileInode> covered;
    private final BlockPool pool;
    private final int blockSize;
    private final ExecutorService readers;
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    private final int chunkBlocks;
    private int nextFile;
    private int nextBlock;
    private long ahead;

    /** Reads ahead the {@code files} (in the order the producer takes them) that {@code covered} accepts. */
    ReadAhead(List<FileInode> files, Predicate<FileInode> covered, BlockPool pool, int threads) {
        this.files = files;
        this.covered = covered;
        this.pool = pool;
        this.blockSize = pool.blockSize();
        this.chunkBlocks = Math.max(1, CHUNK_BYTES / blockSize);
        readers = Tasks.daemonPool(threads, "microforge-reader");
        fill();
    }

    /** Schedules chunks until the budget is used. */
    private void fill() {
        while (ahead < AHEAD_BYTES && chunks.size() < AHEAD_CHUNKS && nextFile < files.size()) {
            FileInode f = files.get(nextFile);
            if (!covered.test(f)) {
                nextFile++;
                continue;
            }
            long size = f.file().size();
            int n = (int) ((size + blockSize - 1) / blockSize);
            int first = nextBlock;
            int count = Math.min(chunkBlocks, n - first);
            long from = (long) first * blockSize;
            long bytes = Math.min(size - from, (long) count * blockSize);
            boolean last = first + count == n;
            chunks.add(new Chunk(f, bytes, readers.submit(() -> read(f, first, count, last))));
            ahead += bytes;
            nextBlock += count;
            if (last) {
                nextFile++;
                nextBlock = 0;
            }
        }
    }

    /** Blocks {@code [first, first+count)} of {@code f}; the last chunk of a file also checks for its end. */
    private byte[][] read(FileInode f, int first, int count, boolean last) throws IOException {
        long size = f.file().size();
        byte[][] out = new byte[count][];
        try (SourceFile in = SourceFile.open(f.file(), (long) first * blockSize)) {
            for (int i = 0; i < count; i++) {
                int len = (int) Math.min(blockSize, size - (long) (first + i) * blockSize);
                byte[] b = len == blockSize ? pool.take() : new byte[len];
                in.readFully(b, 0, len);
                out[i] = b;
            }
            if (last) {
                in.expectEnd();
            }
        }
        return out;
    }

    /** The blocks of {@code f}, the next file the producer writes (read here when the read-ahead does not cover it). */
    Blocks blocks(FileInode f) throws IOException {
        return covered.test(f) ? new Ahead(f) : new Direct(SourceFile.open(f.file()));
    }

    /** The blocks of a file the read-ahead covers, taken chunk by chunk. */
    private final class Ahead implements Blocks {
        private final FileInode f;
        private byte[][] chunk = new byte[0][];
        private int at;

        Ahead(FileInode f) {
            this.f = f;
        }

        @Override
        public byte[] next(int len) throws IOException {
            if (at == chunk.length) {
                Chunk c = chunks.poll();
                if (c == null || c.file != f) {
                    throw new IllegalStateException("read-ahead out of step at " + f.file().origin());
                }
                chunk = Tasks.await(c.data);
                at = 0;
                ahead -= c.bytes;
                fill();
            }
            byte[] b = chunk[at];
            chunk[at++] = null;
            return b;
        }

        @Override
        public void finish() {
            // the file's last chunk checked its end
        }

        @Override
        public void close() {
            for (int i = at; i < chunk.length; i++) {
                pool.give(chunk[i]);
            }
        }
    }

    /** A file read on the producer thread. */
    private final class Direct implements Blocks {
        private final SourceFile in;

        Direct(SourceFile in) {
            this.in = in;
        }

        @Override
        public byte[] next(int len) throws IOException {
            byte[] b = pool.take();
            in.readFully(b, 0, len);
            return b;
        }

        @Override
        public void finish() throws IOException {
            in.expectEnd();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    @Override
    public void close() {
        readers.shutdownNow();
    }
}
