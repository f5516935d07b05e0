package dev.microforge.image.squashfs;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.Node;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.Symlink;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.Pipeline;
import dev.microforge.image.codec.Codec;
import dev.microforge.image.codec.XzCodec;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.Tasks;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * Writes a SquashFS 4.0 image as the Linux kernel reads it. Layout (as mksquashfs): superblock, compressor
 * options, data and fragment blocks, inode table, directory table, fragment table, id table.
 *
 * <p>Data goes through the deterministic {@link Pipeline}: files in tree order, full blocks compressed in
 * parallel, tails packed into fragment blocks, everything written strictly in order. Identical files are
 * stored once (found by size, then by a CRC32C computed while the data pass reads them, confirmed by comparing
 * the bytes with the earlier file's; the first file in tree order owns the data). All-zero full blocks are stored sparse. Metadata is written after the data, bottom-up (children
 * before their directory), so every reference is known when it is written.
 */
public final class SquashfsWriter {
    static final int DEFAULT_BLOCK_SIZE = 128 * 1024;
    /** Duplicate candidates up to this size are read into memory once; larger ones are hashed in a pass of their own. */
    static final long CANDIDATE_BUFFER_LIMIT = 32L << 20;
    private final long candidateBufferLimit;

    private final Codec codec;
    private final int level;
    /** Whether --level was given (else the codec may choose per block: {@link Codec#newDefaultCompressor}). */
    private final boolean levelGiven;
    private final int blockSize;
    private final int blockLog;
    private final int threads;
    private final boolean fragments;
    private final boolean tailPacking;
    private final int mtime;
    private final Events events;

    // the internal tree
    private abstract static class Ino {
        int number;
        long ref;
    }

    private static final class DirIno extends Ino {
        final List<byte[]> names = new ArrayList<>();
        final List<Ino> children = new ArrayList<>();
        int parentNumber;
    }

    private static final class FileIno extends Ino {
        final RegularFile file;
        FileIno dupOf;
        boolean candidate;
        long start;
        int[] sizes = new int[0];
        int fragIndex = SquashfsOnDisk.INVALID_FRAG;
        int fragOffset;
        long sparse;

        FileIno(RegularFile file) {
            this.file = file;
        }

        int mode() {
            return file.mode();
        }
    }

    private static final class LinkIno extends Ino {
        final byte[] target;

        LinkIno(byte[] target) {
            this.target = target;
        }
    }

    private final List<FileIno> files = new ArrayList<>();
    private int inodeCount;

    // data phase state (producer thread only)
    private Out out;
    private byte[] fragBuf;
    private int fragLen;
    private final List<long[]> fragTable = new ArrayList<>(); // {start, size}
    /** Recycled block buffers: their number is bounded by the blocks in flight, so the heap stays small. */
    private final java.util.concurrent.ConcurrentLinkedQueue<byte[]> pool = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private byte[] take() {
        byte[] b = pool.poll();
        return b != null ? b : new byte[blockSize];
    }

    private void give(byte[] b) {
        if (b != null && b.length == blockSize) {
            pool.offer(b);
        }
    }

    public SquashfsWriter(ImageOptions options, Events events) {
        this(options, events, CANDIDATE_BUFFER_LIMIT);
    }

    /** With another limit for reading duplicate candidates into memory (tests: both ways give the same image). */
    SquashfsWriter(ImageOptions options, Events events, long candidateBufferLimit) {
        this.candidateBufferLimit = candidateBufferLimit;
        ImageOptions.rejectIfGiven("squashfs", "--pcluster", options.pcluster());
        ImageOptions.rejectIfGiven("squashfs", "--label", options.label());
        ImageOptions.rejectIfGiven("squashfs", "--uuid", options.uuid());
        String c = options.compression() == null ? "zstd" : options.compression();
        if (!SquashfsImageFormat.COMPRESSIONS.contains(c)) {
            throw new UserError("--compression " + c + " is not available for squashfs (expected one of "
                    + String.join(", ", SquashfsImageFormat.COMPRESSIONS) + ")");
        }
        if (options.xzBcj() != null && !c.equals("xz")) {
            throw new UserError("--xz-bcj applies to --compression xz only (got " + c + ")");
        }
        this.codec = c.equals("xz") && options.xzBcj() != null ? new XzCodec(XzCodec.Bcj.named(options.xzBcj())) : Codec.named(c);
        this.levelGiven = options.level() != null;
        this.level = levelGiven ? options.level() : codec.defaultLevel();
        codec.checkLevel(level);
        long bs = options.blockSize() == null ? DEFAULT_BLOCK_SIZE : options.blockSize();
        if (bs < 4096 || bs > 1 << 20 || Long.bitCount(bs) != 1) {
            throw new UserError("--block-size " + bs + " is invalid for squashfs: a power of two from 4K to 1M");
        }
        this.blockSize = (int) bs;
        this.blockLog = Integer.numberOfTrailingZeros(blockSize);
        this.threads = options.threads();
        this.fragments = options.fragments() == null || options.fragments();
        this.tailPacking = options.tailPacking() == null || options.tailPacking();
        this.mtime = (int) options.mtime();
        this.events = events;
    }

    /** Writes the image of {@code root} to {@code channel} (positioned at 0, empty). */
    public void write(Dir root, FileChannel channel) throws IOException {
        write(root, channel, null);
    }

    /**
     * As {@link #write(Dir, FileChannel)}; {@code path} (the file behind {@code channel}, or null) is opened a
     * second time for direct I/O (O_DIRECT), which the image data goes through when the file system takes it:
     * no copy into the page cache, and the final fsync has little left to do (the 1.4 GB benchmark corpus: about
     * 2 s less system CPU for the uncompressed image). Everything else, and every write the file system
     * refuses that way, goes through {@code channel}.
     */
    public void write(Dir root, FileChannel channel, java.nio.file.Path path) throws IOException {
        DirIno r = build(root, "");
        number(r);
        r.parentNumber = inodeCount + 1;
        markCandidates();
        out = new Out(channel, path);
        try {
            byte[] compOpts = compressorOptions();
            out.write(new byte[SquashfsOnDisk.SUPERBLOCK_SIZE]);
            if (compOpts != null) {
                byte[] hdr = new byte[2];
                SquashfsOnDisk.putShort(hdr, 0, compOpts.length | SquashfsOnDisk.META_UNCOMPRESSED);
                out.write(hdr);
                out.write(compOpts);
            }
            writeData();

            Codec.Compressor metaCompressor = codec.name().equals("none") ? null : newCompressor();
            MetaWriter inodes = new MetaWriter(metaCompressor);
            MetaWriter dirs = new MetaWriter(metaCompressor);
            events.start("writing squashfs metadata", -1);
            writeDir(r, inodes, dirs);
            long inodeTableStart = out.position();
            out.write(inodes.finish());
            long dirTableStart = out.position();
            out.write(dirs.finish());

            long fragTableStart = SquashfsOnDisk.INVALID;
            if (!fragTable.isEmpty()) {
                MetaWriter fm = new MetaWriter(metaCompressor);
                byte[] e = new byte[16];
                for (long[] f : fragTable) {
                    SquashfsOnDisk.putLong(e, 0, f[0]);
                    SquashfsOnDisk.putInt(e, 8, (int) f[1]);
                    SquashfsOnDisk.putInt(e, 12, 0);
                    fm.write(e);
                }
                fragTableStart = writeLookupTable(fm);
            }
            MetaWriter idm = new MetaWriter(metaCompressor);
            idm.write(new byte[4]); // one id: 0 (root)
            long idTableStart = writeLookupTable(idm);
            long bytesUsed = out.position();
            int pad = (int) ((SquashfsOnDisk.DEVICE_BLOCK - bytesUsed % SquashfsOnDisk.DEVICE_BLOCK) % SquashfsOnDisk.DEVICE_BLOCK);
            out.write(new byte[pad]);
            out.close();
            events.finish("writing squashfs metadata");

            byte[] sb = new Superblock(inodeCount, mtime & 0xffffffffL, blockSize, fragTable.size(),
                    SquashfsOnDisk.compressorId(codec.name()), blockLog, flags(compOpts != null), 1, 4, 0, r.ref,
                    bytesUsed, idTableStart, SquashfsOnDisk.INVALID, inodeTableStart, dirTableStart, fragTableStart,
                    SquashfsOnDisk.INVALID).encode();
            ByteBuffer bb = ByteBuffer.wrap(sb);
            long p = 0;
            while (bb.hasRemaining()) {
                p += channel.write(bb, p);
            }
        } finally {
            out.abandon();
        }
    }

    private int flags(boolean compOpts) {
        int f = SquashfsOnDisk.NO_XATTR | SquashfsOnDisk.DUPLICATES;
        if (codec.name().equals("none")) {
            f |= SquashfsOnDisk.NOI | SquashfsOnDisk.NOD | SquashfsOnDisk.NOF | SquashfsOnDisk.NOX | SquashfsOnDisk.NOID;
        }
        if (!fragments) {
            f |= SquashfsOnDisk.NO_FRAG;
        } else if (tailPacking) {
            f |= SquashfsOnDisk.ALWAYS_FRAG;
        }
        if (compOpts) {
            f |= SquashfsOnDisk.COMP_OPT;
        }
        return f;
    }

    private Codec.Compressor newCompressor() {
        return levelGiven ? codec.newCompressor(level, blockSize) : codec.newDefaultCompressor(blockSize);
    }

    /** The compressor options block, or null when the defaults apply (lz4 always has one). */
    private byte[] compressorOptions() {
        switch (codec.name()) {
            case "lz4": {
                byte[] b = new byte[8];
                SquashfsOnDisk.putInt(b, 0, 1); // LZ4_LEGACY
                SquashfsOnDisk.putInt(b, 4, level > 1 ? 1 : 0); // LZ4_HC flag (informational)
                return b;
            }
            case "gzip": {
                if (level == 9) {
                    return null;
                }
                byte[] b = new byte[8];
                SquashfsOnDisk.putInt(b, 0, level);
                SquashfsOnDisk.putShort(b, 4, 15);
                SquashfsOnDisk.putShort(b, 6, 0);
                return b;
            }
            case "zstd": {
                if (level == 15) {
                    return null;
                }
                byte[] b = new byte[4];
                SquashfsOnDisk.putInt(b, 0, level);
                return b;
            }
            case "xz": {
                // as mksquashfs -Xbcj: the flags name the filters that blocks may use; the dictionary is the block size
                if (((XzCodec) codec).bcj() == XzCodec.Bcj.NONE) {
                    return null;
                }
                byte[] b = new byte[8];
                SquashfsOnDisk.putInt(b, 0, XzCodec.dictSize(blockSize));
                SquashfsOnDisk.putInt(b, 4, XzCodec.FLAG_X86);
                return b;
            }
            default:
                return null;
        }
    }

    /** Writes a lookup table's metadata blocks, then its index; returns the index position. */
    private long writeLookupTable(MetaWriter m) throws IOException {
        byte[] blocks = m.finish();
        long base = out.position();
        out.write(blocks);
        List<Long> starts = m.blockStarts();
        byte[] index = new byte[starts.size() * 8];
        for (int i = 0; i < starts.size(); i++) {
            SquashfsOnDisk.putLong(index, i * 8, base + starts.get(i));
        }
        long at = out.position();
        out.write(index);
        return at;
    }

    // ---- tree ----

    /** The internal tree of {@code dir}; {@code path} (its path in the image) only names it in errors. */
    private DirIno build(Dir dir, String path) {
        DirIno d = new DirIno();
        for (Entry e : dir.entries()) {
            Node n = e.node();
            Ino child;
            if (n instanceof Dir sub) {
                child = build(sub, path + "/" + e.displayName());
            } else if (n instanceof RegularFile f) {
                FileIno fi = new FileIno(f);
                files.add(fi);
                child = fi;
            } else if (n instanceof Symlink s) {
                byte[] t = s.target();
                if (t.length == 0 || t.length > 4096) {
                    throw new UserError(path + "/" + e.displayName() + ": symlink target length " + t.length
                            + " is not representable (1 to 4096 bytes)");
                }
                child = new LinkIno(t);
            } else {
                throw new IllegalStateException("unknown node " + n);
            }
            d.names.add(e.nameRef());
            d.children.add(child);
        }
        return d;
    }

    /** Inode numbers in write order: children before their directory; the root is the last. */
    private void number(DirIno d) {
        for (Ino c : d.children) {
            if (c instanceof DirIno sub) {
                number(sub);
            } else {
                c.number = ++inodeCount;
            }
        }
        d.number = ++inodeCount;
        for (Ino c : d.children) {
            if (c instanceof DirIno sub) {
                sub.parentNumber = d.number;
            }
        }
    }

    // ---- duplicates ----

    /**
     * Marks the files that may be duplicates: those whose size another file shares. Their CRC32C is computed
     * while the data pass reads them (each file is read once); a file whose size and CRC32C equal an earlier
     * file's (in tree order) is compared byte for byte with it (the earlier one is read again) and, when
     * equal, becomes its duplicate: the earlier one owns the data, whatever the thread count. The CRC only
     * picks which files to compare; the comparison decides, so different files are never merged.
     */
    private void markCandidates() {
        Map<Long, FileIno> firstOfSize = new HashMap<>();
        for (FileIno f : files) {
            long size = f.file.size();
            if (size == 0) {
                continue;
            }
            FileIno prev = firstOfSize.putIfAbsent(size, f);
            if (prev != null) {
                prev.candidate = true;
                f.candidate = true;
            }
        }
    }

    /** A duplicate candidate's size and CRC32C: files with another key cannot be equal. */
    private record DupKey(long size, int crc) {}

    private static final ThreadLocal<byte[]> READ_BUF = ThreadLocal.withInitial(() -> new byte[1 << 17]);
    private static final ThreadLocal<byte[]> READ_BUF2 = ThreadLocal.withInitial(() -> new byte[1 << 17]);

    /** CRC32C of a whole file, read on its own (only for duplicate candidates too large to hold in memory). */
    private static int checksum(FileIno f) throws IOException {
        CRC32C crc = new CRC32C();
        try (Input in = Input.open(f)) {
            byte[] buf = READ_BUF.get();
            long left = f.file.size();
            while (left > 0) {
                int n = (int) Math.min(buf.length, left);
                in.readFully(buf, n);
                crc.update(buf, 0, n);
                left -= n;
            }
            in.expectEof();
        }
        return (int) crc.getValue();
    }

    /**
     * Whether {@code f} has the bytes of the earlier file {@code owner} (same size): {@code f}'s bytes are
     * {@code blocks} (one buffer per block, as {@link #readWhole} left them) or, when null, read from disk.
     */
    private boolean sameBytes(FileIno owner, FileIno f, byte[][] blocks) throws IOException {
        long size = f.file.size();
        byte[] a = READ_BUF.get();
        try (Input o = Input.open(owner); Input in = blocks == null ? Input.open(f) : null) {
            byte[] b = READ_BUF2.get();
            long done = 0;
            while (done < size) {
                byte[] mine;
                int at;
                int n;
                if (blocks != null) {
                    at = (int) (done % blockSize);
                    mine = blocks[(int) (done / blockSize)];
                    n = (int) Math.min(Math.min(a.length, blockSize - at), size - done);
                } else {
                    n = (int) Math.min(b.length, size - done);
                    in.readFully(b, n);
                    mine = b;
                    at = 0;
                }
                o.readFully(a, n);
                if (!Arrays.equals(a, 0, n, mine, at, at + n)) {
                    return false;
                }
                done += n;
            }
            o.expectEof();
            if (in != null) {
                in.expectEof();
            }
        }
        return true;
    }

    // ---- data ----

    /** What a pipeline result is for. */
    private record Done(FileIno file, int block, int fragment, byte[] data, int len, boolean raw, boolean sparse) {}

    private void writeData() throws IOException {
        long total = 0;
        for (FileIno f : files) {
            total += f.file.size();
        }
        events.start("writing squashfs data", total);
        fragBuf = new byte[blockSize];
        ThreadLocal<Codec.Compressor> comp = ThreadLocal.withInitial(this::newCompressor);
        int inFlight = Math.max(4, threads * 4);
        try (Pipeline<Done> pipeline = new Pipeline<>(threads, inFlight, (seq, d) -> place(d));
                ReadAhead ahead = new ReadAhead()) {
            Map<DupKey, List<FileIno>> owners = new HashMap<>();
            CRC32C crc = new CRC32C();
            for (FileIno f : files) {
                if (!f.candidate) {
                    writeFile(f, pipeline, comp, null, ahead);
                    continue;
                }
                // a possible duplicate: checksum it while reading it (into memory when it fits), compare it with
                // the earlier files of its size and checksum, then either point it at the identical one or
                // write the bytes already read
                byte[][] blocks = null;
                int sum;
                if (f.file.size() <= candidateBufferLimit) {
                    blocks = readWhole(f, crc, ahead);
                    sum = (int) crc.getValue();
                } else {
                    sum = checksum(f);
                }
                List<FileIno> same = owners.computeIfAbsent(new DupKey(f.file.size(), sum), k -> new ArrayList<>(1));
                FileIno prev = null;
                for (FileIno o : same) {
                    if (sameBytes(o, f, blocks)) {
                        prev = o;
                        break;
                    }
                }
                if (prev == null) {
                    same.add(f);
                } else {
                    f.dupOf = prev;
                    if (blocks != null) {
                        for (byte[] b : blocks) {
                            give(b);
                        }
                    }
                    events.advance(f.file.size());
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
        for (FileIno f : files) {
            if (f.dupOf != null) {
                FileIno o = f.dupOf;
                f.start = o.start;
                f.sizes = o.sizes;
                f.fragIndex = o.fragIndex;
                f.fragOffset = o.fragOffset;
                f.sparse = o.sparse;
            }
        }
    }

    /**
     * Reads a whole duplicate candidate into pool buffers (one per block, the last one partly filled),
     * checksumming it with {@code crc} on the way; checks that it still has its scanned size.
     */
    private byte[][] readWhole(FileIno f, CRC32C crc, ReadAhead ahead) throws IOException {
        long size = f.file.size();
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
                give(b);
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
    private void writeFile(FileIno f, Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp, byte[][] preRead,
            ReadAhead ahead) throws IOException {
        long size = f.file.size();
        if (size == 0) {
            return;
        }
        long full = size / blockSize;
        int tail = (int) (size % blockSize);
        boolean tailToFragment = fragments && tail > 0 && (full == 0 || tailPacking);
        long nblocks = full + (tail > 0 && !tailToFragment ? 1 : 0);
        if (nblocks > Integer.MAX_VALUE / 2) {
            throw new UserError(f.file.origin() + ": file too large");
        }
        f.sizes = new int[(int) nblocks];
        try (Blocks in = preRead != null ? new PreRead(preRead) : ahead.blocks(f)) {
            for (int i = 0; i < nblocks; i++) {
                int len = (int) Math.min(blockSize, size - (long) i * blockSize);
                submitBlock(f, i, in.next(len), len, pipeline, comp);
            }
            if (tailToFragment) {
                byte[] last = in.next(tail);
                addTail(f, tail, pipeline, comp);
                System.arraycopy(last, 0, fragBuf, f.fragOffset, tail);
                give(last);
            }
            in.finish();
        }
    }

    /** One file's blocks in order, each in a buffer of its own (a pool buffer, or exactly as long as a short last block). */
    private interface Blocks extends AutoCloseable {
        /** The next block, {@code len} bytes. */
        byte[] next(int len) throws IOException;

        /** After the last block: checks that the file has no more bytes. */
        void finish() throws IOException;

        @Override
        void close() throws IOException;
    }

    /** The blocks {@link #readWhole} already read; those not taken go back to the pool. */
    private final class PreRead implements Blocks {
        private final byte[][] blocks;
        private int at;

        PreRead(byte[][] blocks) {
            this.blocks = blocks;
        }

        @Override
        public byte[] next(int len) {
            byte[] b = blocks[at];
            blocks[at++] = null;
            return b;
        }

        @Override
        public void finish() {
            // readWhole checked the file's end
        }

        @Override
        public void close() {
            for (int i = at; i < blocks.length; i++) {
                give(blocks[i]);
            }
        }
    }

    /** Read-ahead: file data in chunks of up to this many bytes... */
    private static final int CHUNK_BYTES = 1 << 20;
    /** ...at most this many bytes and chunks read but not yet taken by the producer. */
    private static final long AHEAD_BYTES = 32L << 20;
    private static final int AHEAD_CHUNKS = 1024;

    /**
     * Reads file data ahead of the producer, on reader threads ({@code --threads} of them), so that opening and
     * reading the files (on the benchmark corpus about 2.5 s of CPU, half of it in the kernel) runs in parallel
     * instead of on the producer thread, which would otherwise be the slowest stage of a fast build (lz4, none).
     * Chunks are scheduled and taken strictly in the producer's order (files in tree order, blocks in file
     * order), so the data, and the first error reported, are those of a sequential read. Memory: at most
     * {@link #AHEAD_BYTES} ahead. Files that are read elsewhere (empty, in memory, or duplicate candidates
     * too large to buffer, which the duplicate check reads itself) are skipped and read by the producer.
     */
    private final class ReadAhead implements AutoCloseable {
        private record Chunk(FileIno file, long bytes, Future<byte[][]> data) {}

        private final java.util.concurrent.ExecutorService readers;
        private final java.util.ArrayDeque<Chunk> chunks = new java.util.ArrayDeque<>();
        private final int chunkBlocks = Math.max(1, CHUNK_BYTES / blockSize);
        private int nextFile;
        private int nextBlock;
        private long ahead;

        ReadAhead() {
            readers = Tasks.daemonPool(threads, "microforge-reader");
            fill();
        }

        private boolean readsAhead(FileIno f) {
            long size = f.file.size();
            return size > 0 && f.file.source() != null && !(f.candidate && size > candidateBufferLimit);
        }

        /** Schedules chunks until the budget is used. */
        private void fill() {
            while (ahead < AHEAD_BYTES && chunks.size() < AHEAD_CHUNKS && nextFile < files.size()) {
                FileIno f = files.get(nextFile);
                if (!readsAhead(f)) {
                    nextFile++;
                    continue;
                }
                long size = f.file.size();
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
        private byte[][] read(FileIno f, int first, int count, boolean last) throws IOException {
            long size = f.file.size();
            byte[][] out = new byte[count][];
            try (Input in = Input.open(f, (long) first * blockSize)) {
                for (int i = 0; i < count; i++) {
                    int len = (int) Math.min(blockSize, size - (long) (first + i) * blockSize);
                    byte[] b = len == blockSize ? take() : new byte[len];
                    in.readFully(b, len);
                    out[i] = b;
                }
                if (last) {
                    in.expectEof();
                }
            }
            return out;
        }

        Blocks blocks(FileIno f) throws IOException {
            return readsAhead(f) ? new Ahead(f) : new Direct(Input.open(f));
        }

        /** The blocks of a file the read-ahead covers, taken chunk by chunk. */
        private final class Ahead implements Blocks {
            private final FileIno f;
            private byte[][] chunk = new byte[0][];
            private int at;

            Ahead(FileIno f) {
                this.f = f;
            }

            @Override
            public byte[] next(int len) throws IOException {
                if (at == chunk.length) {
                    Chunk c = chunks.poll();
                    if (c == null || c.file != f) {
                        throw new IllegalStateException("read-ahead out of step at " + f.file.origin());
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
                    give(chunk[i]);
                }
            }
        }

        /** A file read here, on the producer thread. */
        private final class Direct implements Blocks {
            private final Input in;

            Direct(Input in) {
                this.in = in;
            }

            @Override
            public byte[] next(int len) throws IOException {
                byte[] b = take();
                in.readFully(b, len);
                return b;
            }

            @Override
            public void finish() throws IOException {
                in.expectEof();
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

    private void submitBlock(FileIno f, int block, byte[] buf, int len, Pipeline<Done> pipeline,
            ThreadLocal<Codec.Compressor> comp) throws IOException {
        if (len == blockSize) {
            // the all-zero test runs on the worker, off the reading thread
            pipeline.submit(() -> {
                if (allZero(buf)) {
                    give(buf);
                    return new Done(f, block, -1, null, 0, false, true);
                }
                return compress(f, block, -1, buf, len, comp.get());
            });
        } else {
            pipeline.submit(() -> compress(f, block, -1, buf, len, comp.get()));
        }
        events.advance(len);
    }

    /** Reserves {@code tail} bytes for {@code f} in the fragment block (flushing it first when full). */
    private void addTail(FileIno f, int tail, Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp)
            throws IOException {
        if (fragLen + tail > blockSize) {
            flushFragment(pipeline, comp);
        }
        f.fragIndex = fragTable.size();
        f.fragOffset = fragLen;
        fragLen += tail;
        events.advance(tail);
    }

    private void flushFragment(Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp) throws IOException {
        byte[] buf = take();
        System.arraycopy(fragBuf, 0, buf, 0, fragLen);
        int len = fragLen;
        int index = fragTable.size();
        fragTable.add(new long[2]);
        pipeline.submit(() -> compress(null, -1, index, buf, len, comp.get()));
        fragLen = 0;
    }

    private Done compress(FileIno f, int block, int fragment, byte[] buf, int len, Codec.Compressor c) {
        byte[] dst = take();
        int n = c.compress(buf, 0, len, dst);
        if (n > 0) {
            give(buf);
            return new Done(f, block, fragment, dst, n, false, false);
        }
        give(dst);
        return new Done(f, block, fragment, buf, len, true, false);
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

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
            if (d.block == 0) {
                d.file.start = pos;
            }
            d.file.sizes[d.block] = sizeField;
            if (d.sparse) {
                d.file.sparse += blockSize;
            }
        }
        if (!d.sparse) {
            out.write(d.data, 0, d.len);
            give(d.data);
        }
    }

    // ---- metadata ----

    private void writeDir(DirIno d, MetaWriter inodes, MetaWriter dirs) {
        int subdirs = 0;
        for (Ino c : d.children) {
            if (c instanceof DirIno sub) {
                writeDir(sub, inodes, dirs);
                subdirs++;
            } else {
                c.ref = inodes.ref();
                inodes.write(inode(c));
            }
        }
        // the listing
        long listingBlock = dirs.blockStart();
        int listingOffset = dirs.offset();
        List<int[]> runs = runs(d); // {from, to, indexed}
        List<byte[]> index = new ArrayList<>();
        int p = 0;
        for (int[] run : runs) {
            if (run[2] == 1) {
                byte[] name = d.names.get(run[0]);
                byte[] ie = new byte[12 + name.length];
                SquashfsOnDisk.putInt(ie, 0, p);
                SquashfsOnDisk.putInt(ie, 4, (int) dirs.blockStart());
                SquashfsOnDisk.putInt(ie, 8, name.length - 1);
                System.arraycopy(name, 0, ie, 12, name.length);
                index.add(ie);
            }
            Ino first = d.children.get(run[0]);
            byte[] hdr = new byte[12];
            SquashfsOnDisk.putInt(hdr, 0, run[1] - run[0] - 1);
            SquashfsOnDisk.putInt(hdr, 4, (int) (first.ref >>> 16));
            SquashfsOnDisk.putInt(hdr, 8, first.number);
            dirs.write(hdr);
            p += 12;
            for (int i = run[0]; i < run[1]; i++) {
                Ino c = d.children.get(i);
                byte[] name = d.names.get(i);
                byte[] e = new byte[8 + name.length];
                SquashfsOnDisk.putShort(e, 0, (int) (c.ref & 0xffff));
                SquashfsOnDisk.putShort(e, 2, c.number - first.number);
                SquashfsOnDisk.putShort(e, 4, basicType(c));
                SquashfsOnDisk.putShort(e, 6, name.length - 1);
                System.arraycopy(name, 0, e, 8, name.length);
                dirs.write(e);
                p += e.length;
            }
        }
        long listingSize = p + 3L;
        d.ref = inodes.ref();
        int nlink = 2 + subdirs;
        if (index.isEmpty() && listingSize <= 0xffff && listingBlock <= 0xffffffffL) {
            byte[] b = new byte[32];
            header(b, SquashfsOnDisk.DIR, d_mode(), d.number);
            SquashfsOnDisk.putInt(b, 16, (int) listingBlock);
            SquashfsOnDisk.putInt(b, 20, nlink);
            SquashfsOnDisk.putShort(b, 24, (int) listingSize);
            SquashfsOnDisk.putShort(b, 26, listingOffset);
            SquashfsOnDisk.putInt(b, 28, d.parentNumber);
            inodes.write(b);
        } else {
            if (index.size() > 0xffff) {
                throw new UserError("a directory is too large for squashfs (directory index over 65535 entries)");
            }
            byte[] b = new byte[40];
            header(b, SquashfsOnDisk.LDIR, d_mode(), d.number);
            SquashfsOnDisk.putInt(b, 16, nlink);
            SquashfsOnDisk.putInt(b, 20, (int) listingSize);
            SquashfsOnDisk.putInt(b, 24, (int) listingBlock);
            SquashfsOnDisk.putInt(b, 28, d.parentNumber);
            SquashfsOnDisk.putShort(b, 32, index.size());
            SquashfsOnDisk.putShort(b, 34, listingOffset);
            SquashfsOnDisk.putInt(b, 36, SquashfsOnDisk.INVALID_XATTR);
            inodes.write(b);
            for (byte[] ie : index) {
                inodes.write(ie);
            }
        }
    }

    private static int d_mode() {
        return dev.microforge.fs.Reproducible.DIR_MODE;
    }

    /**
     * Splits a directory's entries into runs behind one header each: at most 256 entries, one inode metadata
     * block, inode numbers within a signed 16-bit delta; a new indexed run whenever the listing has grown by
     * a metadata block since the last index point (as mksquashfs does).
     */
    private List<int[]> runs(DirIno d) {
        List<int[]> runs = new ArrayList<>();
        int n = d.children.size();
        int p = 0;
        int indexPoint = 0;
        int runStart = -1;
        long runBlock = -1;
        int runBase = 0;
        boolean runIndexed = false;
        for (int i = 0; i < n; i++) {
            Ino c = d.children.get(i);
            int es = 8 + d.names.get(i).length;
            long block = c.ref >>> 16;
            int delta = c.number - runBase;
            boolean bigStep = p + es - indexPoint > SquashfsOnDisk.META_SIZE;
            boolean need = runStart < 0 || i - runStart == SquashfsOnDisk.MAX_DIR_RUN || block != runBlock
                    || delta > 32767 || delta < -32768 || bigStep;
            if (need) {
                if (runStart >= 0) {
                    runs.add(new int[] {runStart, i, runIndexed ? 1 : 0});
                }
                runIndexed = false;
                if (p + es - indexPoint > SquashfsOnDisk.META_SIZE) {
                    runIndexed = true;
                    indexPoint = p;
                }
                runStart = i;
                runBlock = block;
                runBase = c.number;
                p += 12;
            }
            p += es;
        }
        if (runStart >= 0) {
            runs.add(new int[] {runStart, n, runIndexed ? 1 : 0});
        }
        return runs;
    }

    private static int basicType(Ino c) {
        if (c instanceof DirIno) {
            return SquashfsOnDisk.DIR;
        }
        if (c instanceof FileIno) {
            return SquashfsOnDisk.FILE;
        }
        return SquashfsOnDisk.SYMLINK;
    }

    private void header(byte[] b, int type, int mode, int number) {
        SquashfsOnDisk.putShort(b, 0, type);
        SquashfsOnDisk.putShort(b, 2, mode & 07777);
        SquashfsOnDisk.putShort(b, 4, 0);
        SquashfsOnDisk.putShort(b, 6, 0);
        SquashfsOnDisk.putInt(b, 8, mtime);
        SquashfsOnDisk.putInt(b, 12, number);
    }

    private byte[] inode(Ino c) {
        if (c instanceof LinkIno l) {
            byte[] b = new byte[24 + l.target.length];
            header(b, SquashfsOnDisk.SYMLINK, dev.microforge.fs.Reproducible.SYMLINK_MODE, c.number);
            SquashfsOnDisk.putInt(b, 16, 1);
            SquashfsOnDisk.putInt(b, 20, l.target.length);
            System.arraycopy(l.target, 0, b, 24, l.target.length);
            return b;
        }
        FileIno f = (FileIno) c;
        long size = f.file.size();
        boolean ext = size >= 1L << 32 || f.start >= 1L << 32 || f.sparse > 0;
        if (!ext) {
            byte[] b = new byte[32 + 4 * f.sizes.length];
            header(b, SquashfsOnDisk.FILE, f.mode(), c.number);
            SquashfsOnDisk.putInt(b, 16, (int) f.start);
            SquashfsOnDisk.putInt(b, 20, f.fragIndex);
            SquashfsOnDisk.putInt(b, 24, f.fragIndex == SquashfsOnDisk.INVALID_FRAG ? 0 : f.fragOffset);
            SquashfsOnDisk.putInt(b, 28, (int) size);
            for (int i = 0; i < f.sizes.length; i++) {
                SquashfsOnDisk.putInt(b, 32 + 4 * i, f.sizes[i]);
            }
            return b;
        }
        byte[] b = new byte[56 + 4 * f.sizes.length];
        header(b, SquashfsOnDisk.LREG, f.mode(), c.number);
        SquashfsOnDisk.putLong(b, 16, f.start);
        SquashfsOnDisk.putLong(b, 24, size);
        SquashfsOnDisk.putLong(b, 32, f.sparse);
        SquashfsOnDisk.putInt(b, 40, 1);
        SquashfsOnDisk.putInt(b, 44, f.fragIndex);
        SquashfsOnDisk.putInt(b, 48, f.fragIndex == SquashfsOnDisk.INVALID_FRAG ? 0 : f.fragOffset);
        SquashfsOnDisk.putInt(b, 52, SquashfsOnDisk.INVALID_XATTR);
        for (int i = 0; i < f.sizes.length; i++) {
            SquashfsOnDisk.putInt(b, 56 + 4 * i, f.sizes[i]);
        }
        return b;
    }

    // ---- I/O helpers ----

    /**
     * Sequential, buffered output to the image, 1 MiB at a time, written by a thread of its own while the next
     * buffer fills (two buffers, one write in flight: the reading thread does not wait for the disk). Through an
     * O_DIRECT channel when one could be opened (the buffers are aligned, every write but the last is a whole
     * buffer at a multiple of 1 MiB, and the image ends on a 4 KiB boundary), else, or from the first write it
     * refuses on, through the channel. A failed write is thrown by the next {@link #write} or {@link #close}.
     */
    private static final class Out {
        private static final int SIZE = 1 << 20;
        private static final int ALIGN = 4096;
        private final FileChannel ch;
        /** Used by the writer thread only (and by {@link #closeDirect} once no write is in flight). */
        private FileChannel direct;
        private final ByteBuffer[] bufs = new ByteBuffer[2];
        private ByteBuffer buf;
        private long pos;
        private long flushed;
        private final java.util.concurrent.ExecutorService writer;
        private java.util.concurrent.Future<?> pending;

        Out(FileChannel ch, java.nio.file.Path path) {
            this.ch = ch;
            for (int i = 0; i < 2; i++) {
                bufs[i] = ByteBuffer.allocateDirect(SIZE + ALIGN).alignedSlice(ALIGN);
            }
            buf = bufs[0];
            if (path != null) {
                try {
                    direct = FileChannel.open(path, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
                } catch (IOException | UnsupportedOperationException e) {
                    direct = null; // no direct I/O here: buffered writes
                }
            }
            writer = Tasks.daemonPool(1, "microforge-image-writer");
        }

        long position() {
            return pos;
        }

        void write(byte[] b) throws IOException {
            write(b, 0, b.length);
        }

        void write(byte[] b, int off, int len) throws IOException {
            pos += len;
            while (len > 0) {
                if (!buf.hasRemaining()) {
                    flush();
                }
                int n = Math.min(len, buf.remaining());
                buf.put(b, off, n);
                off += n;
                len -= n;
            }
        }

        /** Hands the filled buffer to the writer thread (after the write before it has finished) and takes the other. */
        private void flush() throws IOException {
            buf.flip();
            ByteBuffer full = buf;
            long at = flushed;
            flushed += full.remaining();
            awaitPending();
            pending = writer.submit(() -> {
                writeAt(full, at);
                return null;
            });
            buf = full == bufs[0] ? bufs[1] : bufs[0];
            buf.clear();
        }

        private void awaitPending() throws IOException {
            if (pending == null) {
                return;
            }
            try {
                Tasks.await(pending);
            } finally {
                pending = null;
            }
        }

        /** On the writer thread: all of {@code b} at {@code at}. */
        private void writeAt(ByteBuffer b, long at) throws IOException {
            if (direct != null) {
                try {
                    long p = at;
                    while (b.hasRemaining()) {
                        p += direct.write(b, p);
                    }
                    return;
                } catch (IOException e) {
                    // refused (alignment, file system): this buffer and the rest go through the channel
                    closeDirect();
                    b.position(0);
                }
            }
            long p = at;
            while (b.hasRemaining()) {
                p += ch.write(b, p);
            }
        }

        private void closeDirect() {
            try {
                if (direct != null) {
                    direct.close();
                }
            } catch (IOException e) {
                // nothing was left unwritten: every write on it completed or was redone through the channel
            } finally {
                direct = null;
            }
        }

        /** Writes what is buffered, waits for it, and stops the writer (later writes go through the channel). */
        void close() throws IOException {
            try {
                flush();
                awaitPending();
            } finally {
                abandon();
            }
        }

        /**
         * Stops the writer thread (a write in flight, after an error, finishes first: an interrupt would close the
         * channel) and closes the direct channel.
         */
        void abandon() {
            writer.shutdown();
            try {
                writer.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closeDirect();
        }
    }

    /** Reads one input file, checking it is still the regular file of the scanned size. */
    private static final class Input implements AutoCloseable {
        private final FileIno f;
        private final InputStream in;
        private long read;

        private Input(FileIno f, InputStream in) {
            this.f = f;
            this.in = in;
        }

        static Input open(FileIno f) throws IOException {
            return open(f, 0);
        }

        /** Opens {@code f} to read from byte {@code position} on. */
        static Input open(FileIno f, long position) throws IOException {
            RegularFile rf = f.file;
            if (rf.source() == null) {
                if (position != 0) {
                    throw new IllegalArgumentException("in-memory files are read from the start");
                }
                return new Input(f, rf.open());
            }
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(rf.source(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                throw new UserError(rf.source() + ": file vanished during the build");
            }
            if (!a.isRegularFile()) {
                throw new UserError(rf.source() + ": is no longer a regular file (changed during the build)");
            }
            FileChannel ch;
            try {
                ch = FileChannel.open(rf.source(), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.AccessDeniedException e) {
                throw new UserError(rf.source() + ": file is not readable");
            } catch (NoSuchFileException e) {
                throw new UserError(rf.source() + ": file vanished during the build");
            }
            if (position > 0) {
                try {
                    ch.position(position);
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
            }
            Input in = new Input(f, java.nio.channels.Channels.newInputStream(ch));
            in.read = position;
            return in;
        }

        void readFully(byte[] b, int len) throws IOException {
            readFully(b, 0, len);
        }

        void readFully(byte[] b, int off, int len) throws IOException {
            int done = 0;
            while (done < len) {
                int n;
                try {
                    n = in.read(b, off + done, len - done);
                } catch (IOException e) {
                    throw new UserError(f.file.origin() + ": read error: " + e.getMessage());
                }
                if (n < 0) {
                    throw new UserError(f.file.origin() + ": file changed size during the build (scanned "
                            + f.file.size() + " bytes, found only " + (read + done) + ")");
                }
                done += n;
            }
            read += len;
        }

        void expectEof() throws IOException {
            int extra;
            try {
                extra = in.read();
            } catch (IOException e) {
                throw new UserError(f.file.origin() + ": read error: " + e.getMessage());
            }
            if (extra >= 0) {
                throw new UserError(f.file.origin() + ": file changed size during the build (scanned "
                        + f.file.size() + " bytes, it has more now)");
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** Writer that can be called simply from tests: a path of the file being written, for messages. */
    static String display(byte[] name) {
        return RawNames.display(name);
    }
}
