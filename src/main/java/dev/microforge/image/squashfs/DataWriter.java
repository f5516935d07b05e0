package dev.microforge.image.squashfs;

import dev.microforge.image.Pipeline;
import dev.microforge.image.codec.Codec;
import dev.microforge.image.source.DuplicateFinder;
import dev.microforge.image.source.SourceFile;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * The data area: every file's blocks, compressed (or stored raw when that does not shrink them), all-zero full
 * blocks as sparse blocks, tails and small files packed into fragment blocks, duplicates stored once, all
 * written to the {@link ImageOutput} in tree order through the deterministic {@link Pipeline} (blocks
 * compressed in parallel, placed in order). The result says where each file's data is ({@link FileData}) and
 * where each fragment block is ({@link Fragment}).
 *
 * <p>Duplicates (a {@link DuplicateFinder}): a file whose size another shares is a candidate; its CRC32C is
 * computed while it is read (into memory when at most {@code candidateBufferLimit} bytes, else in a pass of its
 * own), and a file whose size and CRC32C equal an earlier file's (in tree order) is compared byte for byte with
 * it (the earlier one is read again): when equal it shares the earlier file's data, whatever the thread count.
 * Single use: one {@link #write} per object.
 */
final class DataWriter {
    /** Where one file's data is: first block, stored block sizes (with the flags), fragment, sparse bytes. */
    record FileData(long start, int[] sizes, int fragIndex, int fragOffset, long sparse) {}

    /** A fragment block: its start in the image and its stored size (with the uncompressed flag). */
    record Fragment(long start, int size) {}

    /** The data area's layout: one {@link FileData} per file (by {@link FileInode#index}), the fragment table. */
    record Layout(List<FileData> files, List<Fragment> fragments) {
        Layout {
            files = List.copyOf(files);
            fragments = List.copyOf(fragments);
        }
    }

    /** A file's data as it is being placed (producer thread only). */
    private static final class Placement {
        long start;
        int[] sizes = new int[0];
        int fragIndex = SquashfsOnDisk.INVALID_FRAG;
        int fragOffset;
        long sparse;
        FileInode dupOf;

        FileData data() {
            return new FileData(start, sizes, fragIndex, fragOffset, sparse);
        }
    }

    /** What a pipeline result is for: a block of {@code file}, or fragment block {@code fragment}. */
    private record Done(FileInode file, int block, int fragment, byte[] data, int len, boolean raw, boolean sparse) {}

    private static final ThreadLocal<byte[]> READ_BUF = ThreadLocal.withInitial(() -> new byte[1 << 17]);

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final List<FileInode> files;
    private final Supplier<Codec.Compressor> compressors;
    private final int blockSize;
    private final int threads;
    private final boolean fragments;
    private final boolean tailPacking;
    private final long candidateBufferLimit;
    private final Events events;
    private final ImageOutput out;
    private final BlockPool pool;
    private final Placement[] placed;
    private final boolean[] candidate;
    private final byte[] fragBuf;
    private int fragLen;
    private final List<long[]> fragTable = new ArrayList<>(); // {start, size}
    private boolean used;

    /**
     * {@code fragments}: tails into fragment blocks; {@code tailPacking}: also the tails of files of one block or
     * more (else only files smaller than a block).
     */
    DataWriter(List<FileInode> files, Supplier<Codec.Compressor> compressors, int blockSize, int threads,
            boolean fragments, boolean tailPacking, long candidateBufferLimit, ImageOutput out, Events events) {
        this.files = files;
        this.compressors = compressors;
        this.blockSize = blockSize;
        this.threads = threads;
        this.fragments = fragments;
        this.tailPacking = tailPacking;
        this.candidateBufferLimit = candidateBufferLimit;
        this.out = out;
        this.events = events;
        this.pool = new BlockPool(blockSize);
        this.fragBuf = new byte[blockSize];
        this.placed = new Placement[files.size()];
        long[] sizes = new long[files.size()];
        for (int i = 0; i < sizes.length; i++) {
            placed[i] = new Placement();
            sizes[i] = files.get(i).file().size();
        }
        this.candidate = DuplicateFinder.candidates(sizes);
    }

    /** Writes the data area at the output's position; the layout of what was written. */
    Layout write() throws IOException {
        if (used) {
            throw new IllegalStateException("a DataWriter writes once");
        }
        used = true;
        long total = 0;
        for (FileInode f : files) {
            total += f.file().size();
        }
        events.start("writing squashfs data", total);
        ThreadLocal<Codec.Compressor> comp = ThreadLocal.withInitial(compressors);
        int inFlight = Math.max(4, threads * 4);
        try (Pipeline<Done> pipeline = new Pipeline<>(threads, inFlight, (seq, d) -> place(d));
                ReadAhead ahead = new ReadAhead(files, this::readsAhead, pool, threads)) {
            DuplicateFinder<FileInode> duplicates = new DuplicateFinder<>((o, f) -> sameBytes(o, f, null));
            CRC32C crc = new CRC32C();
            for (FileInode f : files) {
                if (!candidate[f.index()]) {
                    writeFile(f, pipeline, comp, null, ahead);
                    continue;
                }
                // a possible duplicate: checksum it while reading it (into memory when it fits), compare it with
                // the earlier files of its size and checksum, then either point it at the identical one or
                // write the bytes already read
                byte[][] blocks = null;
                long sum;
                if (f.file().size() <= candidateBufferLimit) {
                    blocks = readWhole(f, crc, ahead);
                    sum = crc.getValue();
                } else {
                    sum = DuplicateFinder.checksum(f.file());
                }
                byte[][] held = blocks;
                Optional<FileInode> prev = duplicates.canonicalOf(f, f.file().size(), sum, (o, l) -> sameBytes(o, l, held));
                if (prev.isPresent()) {
                    placed[f.index()].dupOf = prev.get();
                    if (blocks != null) {
                        for (byte[] b : blocks) {
                            pool.give(b);
                        }
                    }
                    events.advance(f.file().size());
                    continue;
                }
                writeFile(f, pipeline, comp, blocks, ahead);
            }
            if (fragLen > 0) {
                flushFragment(pipeline, comp);
            }
            pipeline.finish();
        }
        events.finish("writing squashfs data");
        List<FileData> data = new ArrayList<>(files.size());
        for (Placement p : placed) {
            data.add(p.dupOf != null ? placed[p.dupOf.index()].data() : p.data());
        }
        List<Fragment> frags = new ArrayList<>(fragTable.size());
        for (long[] e : fragTable) {
            frags.add(new Fragment(e[0], (int) e[1]));
        }
        return new Layout(data, frags);
    }

    /** Whether the read-ahead reads {@code f}: not empty, on disk, and not a candidate too large to buffer. */
    private boolean readsAhead(FileInode f) {
        long size = f.file().size();
        return size > 0 && f.file().source() != null && !(candidate[f.index()] && size > candidateBufferLimit);
    }

    /**
     * Whether {@code f} has the bytes of the earlier file {@code owner} (same size): {@code f}'s bytes are
     * {@code blocks} (one buffer per block, as {@link #readWhole} left them) or, when null, read from disk.
     */
    private boolean sameBytes(FileInode owner, FileInode f, byte[][] blocks) throws IOException {
        if (blocks == null) {
            return DuplicateFinder.sameBytes(owner.file(), f.file());
        }
        long size = f.file().size();
        byte[] a = READ_BUF.get();
        try (SourceFile o = SourceFile.open(owner.file())) {
            long done = 0;
            while (done < size) {
                int at = (int) (done % blockSize);
                byte[] mine = blocks[(int) (done / blockSize)];
                int n = (int) Math.min(Math.min(a.length, blockSize - at), size - done);
                o.readFully(a, 0, n);
                if (!Arrays.equals(a, 0, n, mine, at, at + n)) {
                    return false;
                }
                done += n;
            }
            o.expectEnd();
        }
        return true;
    }

    /**
     * Reads a whole duplicate candidate into pool buffers (one per block, the last one partly filled),
     * checksumming it with {@code crc} on the way; checks that it still has its scanned size.
     */
    private byte[][] readWhole(FileInode f, CRC32C crc, ReadAhead ahead) throws IOException {
        long size = f.file().size();
        int n = (int) ((size + blockSize - 1) / blockSize);
        byte[][] blocks = new byte[n][];
        crc.reset();
        try (Blocks in = ahead.blocks(f)) {
            for (int i = 0; i < n; i++) {
                int len = (int) Math.min(blockSize, size - (long) i * blockSize);
                blocks[i] = in.next(len);
                crc.update(blocks[i], 0, len);
            }
            in.finish();
        } catch (IOException | RuntimeException e) {
            for (byte[] b : blocks) {
                pool.give(b);
            }
            throw e;
        }
        return blocks;
    }

    /**
     * Queues one file's blocks and puts its tail into the fragment block. {@code preRead}: the file's bytes,
     * one buffer per block, when {@link #readWhole} already read it (the buffers pass to the pipeline or back
     * to the pool); null to read it here.
     */
    private void writeFile(FileInode f, Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp, byte[][] preRead,
            ReadAhead ahead) throws IOException {
        long size = f.file().size();
        if (size == 0) {
            return;
        }
        long full = size / blockSize;
        int tail = (int) (size % blockSize);
        boolean tailToFragment = fragments && tail > 0 && (full == 0 || tailPacking);
        long nblocks = full + (tail > 0 && !tailToFragment ? 1 : 0);
        if (nblocks > Integer.MAX_VALUE / 2) {
            throw new UserError(f.file().origin() + ": file too large");
        }
        Placement p = placed[f.index()];
        p.sizes = new int[(int) nblocks];
        try (Blocks in = preRead != null ? Blocks.of(preRead, pool) : ahead.blocks(f)) {
            for (int i = 0; i < nblocks; i++) {
                int len = (int) Math.min(blockSize, size - (long) i * blockSize);
                submitBlock(f, i, in.next(len), len, pipeline, comp);
            }
            if (tailToFragment) {
                byte[] last = in.next(tail);
                addTail(p, tail, pipeline, comp);
                System.arraycopy(last, 0, fragBuf, p.fragOffset, tail);
                pool.give(last);
            }
            in.finish();
        }
    }

    private void submitBlock(FileInode f, int block, byte[] buf, int len, Pipeline<Done> pipeline,
            ThreadLocal<Codec.Compressor> comp) throws IOException {
        if (len == blockSize) {
            // the all-zero test runs on the worker, off the reading thread
            pipeline.submit(() -> {
                if (allZero(buf)) {
                    pool.give(buf);
                    return new Done(f, block, -1, null, 0, false, true);
                }
                return compress(f, block, -1, buf, len, comp.get());
            });
        } else {
            pipeline.submit(() -> compress(f, block, -1, buf, len, comp.get()));
        }
        events.advance(len);
    }

    /** Reserves {@code tail} bytes for a file in the fragment block (flushing it first when full). */
    private void addTail(Placement p, int tail, Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp)
            throws IOException {
        if (fragLen + tail > blockSize) {
            flushFragment(pipeline, comp);
        }
        p.fragIndex = fragTable.size();
        p.fragOffset = fragLen;
        fragLen += tail;
        events.advance(tail);
    }

    private void flushFragment(Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp) throws IOException {
        byte[] buf = pool.take();
        System.arraycopy(fragBuf, 0, buf, 0, fragLen);
        int len = fragLen;
        int index = fragTable.size();
        fragTable.add(new long[2]);
        pipeline.submit(() -> compress(null, -1, index, buf, len, comp.get()));
        fragLen = 0;
    }

    private Done compress(FileInode f, int block, int fragment, byte[] buf, int len, Codec.Compressor c) {
        byte[] dst = pool.take();
        int n = c.compress(buf, 0, len, dst);
        if (n > 0) {
            pool.give(buf);
            return new Done(f, block, fragment, dst, n, false, false);
        }
        pool.give(dst);
        return new Done(f, block, fragment, buf, len, true, false);
    }

    /** True when the whole (block-sized) buffer is zero. */
    private static boolean allZero(byte[] b) {
        int i = 0;
        for (; i + 8 <= b.length; i += 8) {
            if ((long) LONGS.get(b, i) != 0) {
                return false;
            }
        }
        for (; i < b.length; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Pipeline sink: runs in order on the producer thread. */
    private void place(Done d) throws IOException {
        long pos = out.position();
        int sizeField = d.sparse ? 0 : d.len | (d.raw ? SquashfsOnDisk.DATA_UNCOMPRESSED : 0);
        if (d.fragment >= 0) {
            long[] e = fragTable.get(d.fragment);
            e[0] = pos;
            e[1] = sizeField;
        } else {
            Placement p = placed[d.file.index()];
            if (d.block == 0) {
                p.start = pos;
            }
            p.sizes[d.block] = sizeField;
            if (d.sparse) {
                p.sparse += blockSize;
            }
        }
        if (!d.sparse) {
            out.write(d.data, 0, d.len);
            pool.give(d.data);
        }
    }
}
