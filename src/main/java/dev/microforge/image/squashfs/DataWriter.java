package dev.microforge.image.squashfs;

import dev.microforge.fs.RegularFile;
import dev.microforge.image.BlockPool;
import dev.microforge.image.CorruptImageException;
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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * The data area: every file's blocks, compressed (or stored raw when that does not shrink them), all-zero full
 * blocks as sparse blocks, tails and small files packed into fragment blocks, duplicates stored once, all
 * written to the {@link ImageOutput} in tree order through the deterministic {@link Pipeline} (blocks
 * compressed in parallel, placed in order). The result says where each file's data is ({@link FileData}) and
 * where each fragment block is ({@link Fragment}).
 *
 * <p>Per store path (a group: the files under one top-level entry, {@link FileInode#group}): a group's data
 * blocks and fragment blocks form one contiguous extent that holds nothing of any other group (its last
 * fragment block is closed before the next group starts). A file identical to a file of an earlier group
 * refers to that file's data and has none in its own extent; so the extent's bytes depend only on the
 * group's contents, the options and which of its files have an identical file in an earlier group. With a
 * {@link Reuse} (an earlier image and its {@link ReuseTable}), a group whose key, file sizes and that set
 * are the same as in the earlier image is copied from it, not compressed: the same bytes. Every data block of
 * the other groups is looked up in the earlier image by content ({@link #fromEarlier}) before it is compressed.
 *
 * <p>Duplicates (a {@link DuplicateFinder}): a file whose size another shares is a candidate; its CRC32C is
 * computed while it is read (into memory when at most {@code candidateBufferLimit} bytes, else in a pass of its
 * own), and a file whose size and CRC32C equal an earlier file's (in tree order) is compared byte for byte with
 * it (the earlier one is read again): when equal it shares the earlier file's data, whatever the thread count.
 * With a {@link Reuse}, the same decisions are taken before the data pass ({@link DuplicateFinder#resolve}).
 * Single use: one {@link #write} per object.
 */
final class DataWriter {
    /** Where one file's data is: first block, stored block sizes (with the flags), fragment, sparse bytes. */
    record FileData(long start, int[] sizes, int fragIndex, int fragOffset, long sparse) {}

    /** A fragment block: its start in the image and its stored size (with the uncompressed flag). */
    record Fragment(long start, int size) {}

    /**
     * The data area's layout: one {@link FileData} per file (by {@link FileInode#index}), the fragment table,
     * and the groups' entries of the reuse table (in image order).
     */
    record Layout(List<FileData> files, List<Fragment> fragments, List<ReuseTable.Group> groups) {
        Layout {
            files = List.copyOf(files);
            fragments = List.copyOf(fragments);
            groups = List.copyOf(groups);
        }
    }

    /**
     * An earlier image to copy from: its path (for messages), its channel, its reuse table, and decompressors of
     * its codec (to compare an earlier block with a block to write).
     */
    record Reuse(String name, FileChannel channel, ReuseTable table, Supplier<Codec.Decompressor> decompressors) {}

    /** A file's data as it is being placed (producer thread only). */
    private static final class Placement {
        long start;
        int[] sizes = new int[0];
        /** Per data block: CRC32C of its bytes, CRC32C of its stored bytes (0, 0 when sparse). */
        int[] crcs = new int[0];
        int fragIndex = SquashfsOnDisk.INVALID_FRAG;
        int fragOffset;
        long sparse;
        FileInode dupOf;

        FileData data() {
            return new FileData(start, sizes, fragIndex, fragOffset, sparse);
        }
    }

    /**
     * What a pipeline result is for: a block of {@code file}, fragment block {@code fragment}, or (when
     * {@code copy}) bytes of a group's extent copied from the earlier image; {@code group} is the group it belongs
     * to. A file's block has {@code crc} (CRC32C of its bytes) and {@code storedCrc} (of {@code data[0, len)});
     * {@code fromEarlier}: its stored bytes are a block of the earlier image found by content.
     */
    private record Done(FileInode file, int block, int fragment, byte[] data, int len, boolean raw, boolean sparse,
            int group, boolean copy, int crc, int storedCrc, boolean fromEarlier) {
        Done(FileInode file, int block, int fragment, byte[] data, int len, boolean raw, boolean sparse, int group) {
            this(file, block, fragment, data, len, raw, sparse, group, false, 0, 0, false);
        }
    }

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
    /** Per group: its key (empty: never reused), the earlier image's entry it is copied from (or null). */
    private final String[] keys;
    private final Reuse reuse;
    private final ReuseTable.Group[] copied;
    /** Per group, written by the sink: extent start (-1 before its first byte), end, CRC32C; first fragment. */
    private final long[] groupStart;
    private final long[] groupEnd;
    private final CRC32C[] groupCrc;
    private final int[] groupFragFirst;
    private int fragGroup = -1;
    private int currentGroup = -1;
    /**
     * The earlier image's data blocks by content (with a {@link Reuse}, else null): key {@link #contentKey},
     * values {position in the earlier image, stored size field, CRC32C of the stored bytes}, in image order.
     */
    private java.util.Map<Long, List<long[]>> byContent;
    private ThreadLocal<Codec.Decompressor> decompressors;
    /**
     * Data blocks of compressed groups whose stored bytes came from the earlier image, their stored bytes, and
     * the data blocks compressed (sink only).
     */
    private long blocksFromEarlier;
    private long bytesFromEarlier;
    private long blocksCompressed;

    /**
     * {@code fragments}: tails into fragment blocks; {@code tailPacking}: also the tails of files of one block or
     * more (else only files smaller than a block).
     */
    DataWriter(List<FileInode> files, Supplier<Codec.Compressor> compressors, int blockSize, int threads,
            boolean fragments, boolean tailPacking, long candidateBufferLimit, ImageOutput out, Events events,
            String[] keys, Reuse reuse) {
        this.files = files;
        this.keys = keys;
        this.reuse = reuse;
        int groups = files.isEmpty() ? 0 : files.get(files.size() - 1).group() + 1;
        this.copied = new ReuseTable.Group[groups];
        this.groupStart = new long[groups];
        Arrays.fill(groupStart, -1);
        this.groupEnd = new long[groups];
        this.groupCrc = new CRC32C[groups];
        this.groupFragFirst = new int[groups];
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
        if (reuse != null) {
            // the duplicates first (the same decisions as the streaming search below), then the groups to copy
            List<RegularFile> regular = new ArrayList<>(files.size());
            for (FileInode f : files) {
                regular.add(f.file());
            }
            int[] canonical = DuplicateFinder.resolve(regular, threads);
            for (int i = 0; i < canonical.length; i++) {
                if (canonical[i] != i) {
                    placed[i].dupOf = files.get(canonical[i]);
                }
            }
            planReuse();
            indexEarlierBlocks();
        }
        Predicate<FileInode> covered = reuse == null ? this::readsAhead
                : f -> copied[f.group()] == null && placed[f.index()].dupOf == null && f.file().size() > 0
                        && f.file().source() != null;
        try (Pipeline<Done> pipeline = new Pipeline<>(threads, inFlight, (seq, d) -> place(d));
                ReadAhead ahead = new ReadAhead(files, covered, pool, threads)) {
            DuplicateFinder<FileInode> duplicates = new DuplicateFinder<>((o, l) -> sameBytes(o, l, null));
            CRC32C crc = new CRC32C();
            for (int i = 0; i < files.size(); i++) {
                FileInode f = files.get(i);
                if (f.group() != currentGroup) {
                    // a store path's data and fragment blocks are its own: close the previous path's fragment
                    // block before the next path's data
                    currentGroup = f.group();
                    if (fragLen > 0) {
                        flushFragment(pipeline, comp);
                    }
                    groupFragFirst[currentGroup] = fragTable.size();
                    if (copied[currentGroup] != null) {
                        submitCopy(currentGroup, copied[currentGroup], pipeline);
                    }
                }
                if (reuse != null) {
                    // duplicates decided above
                    if (copied[currentGroup] != null || placed[i].dupOf != null) {
                        events.advance(f.file().size());
                    } else {
                        writeFile(f, pipeline, comp, null, ahead);
                    }
                    continue;
                }
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
        if (reuse != null) {
            events.info(reuse.name() + ": " + blocksFromEarlier + " data blocks (" + bytesFromEarlier
                    + " bytes) of compressed store paths copied by content, " + blocksCompressed + " compressed");
        }
        events.finish("writing squashfs data");
        FileData[] data = new FileData[files.size()];
        for (int i = 0; i < data.length; i++) {
            if (copied[files.get(i).group()] == null && placed[i].dupOf == null) {
                data[i] = placed[i].data();
            }
        }
        // per group in image order: the placements of a copied group (its earlier entry moved to its new extent
        // start), then its duplicates (whose canonical copy is earlier, never a duplicate itself, and placed by
        // now), then its reuse table entry
        List<ReuseTable.Group> groups = new ArrayList<>();
        for (int from = 0, to; from < files.size(); from = to) {
            int g = files.get(from).group();
            to = groupTo(from);
            int nfrag = nextFragFirst(to) - groupFragFirst[g];
            long start = groupStart[g] < 0 ? 0 : groupStart[g];
            ReuseTable.Group old = copied[g];
            if (old != null) {
                for (int k = 0; k < nfrag; k++) {
                    long[] e = fragTable.get(groupFragFirst[g] + k);
                    e[0] = start + old.fragRelStarts()[k];
                    e[1] = old.fragSizes()[k];
                }
                for (int k = from; k < to; k++) {
                    if (!old.external()[k - from]) {
                        FileData o = old.files().get(k - from);
                        data[k] = new FileData(o.sizes().length > 0 ? start + o.start() : 0, o.sizes(),
                                o.fragIndex() == SquashfsOnDisk.INVALID_FRAG ? o.fragIndex() : groupFragFirst[g] + o.fragIndex(),
                                o.fragOffset(), o.sparse());
                    }
                }
            }
            for (int k = from; k < to; k++) {
                if (data[k] == null) {
                    data[k] = data[placed[k].dupOf.index()];
                }
            }
            long[] fragStarts = new long[nfrag];
            int[] fragSizes = new int[nfrag];
            for (int k = 0; k < nfrag; k++) {
                long[] e = fragTable.get(groupFragFirst[g] + k);
                fragStarts[k] = e[0] - start;
                fragSizes[k] = (int) e[1];
            }
            long[] sizes = new long[to - from];
            boolean[] external = new boolean[to - from];
            List<FileData> rel = new ArrayList<>(to - from);
            List<int[]> crcs = new ArrayList<>(to - from);
            for (int k = from; k < to; k++) {
                FileData d = data[k];
                sizes[k - from] = files.get(k).file().size();
                FileInode dup = placed[k].dupOf;
                external[k - from] = dup != null && dup.group() != g;
                rel.add(external[k - from] ? new FileData(0, new int[0], SquashfsOnDisk.INVALID_FRAG, 0, 0)
                        : new FileData(d.sizes().length > 0 ? d.start() - start : 0, d.sizes(),
                                d.fragIndex() == SquashfsOnDisk.INVALID_FRAG ? d.fragIndex() : d.fragIndex() - groupFragFirst[g],
                                d.fragOffset(), d.sparse()));
                crcs.add(dup != null ? new int[0] : old != null ? old.blockCrcs().get(k - from) : placed[k].crcs);
            }
            groups.add(new ReuseTable.Group(keys[g], start, groupStart[g] < 0 ? 0 : groupEnd[g] - start,
                    groupCrc[g] == null ? 0 : groupCrc[g].getValue(), fragStarts, fragSizes, sizes, external, rel,
                    crcs));
        }
        List<Fragment> frags = new ArrayList<>(fragTable.size());
        for (long[] e : fragTable) {
            frags.add(new Fragment(e[0], (int) e[1]));
        }
        return new Layout(Arrays.asList(data), frags, groups);
    }

    /** The end (exclusive) of the run of files of the group of file {@code from} (a group's files are consecutive). */
    private int groupTo(int from) {
        int g = files.get(from).group();
        int to = from;
        while (to < files.size() && files.get(to).group() == g) {
            to++;
        }
        return to;
    }

    /** The first fragment index of the group of file {@code i} (the fragment count when {@code i} is past the end). */
    private int nextFragFirst(int i) {
        return i < files.size() ? groupFragFirst[files.get(i).group()] : fragTable.size();
    }

    /**
     * Decides which groups are copied from the earlier image: same key (store path name and narHash), same
     * file count and sizes, an extent inside the earlier image whose bytes have the recorded CRC32C, and
     * placements that stay inside the extent. Any other group is compressed again, with a note when the
     * earlier image had its key.
     */
    private void planReuse() throws IOException {
        java.util.Map<String, ReuseTable.Group> byKey = new java.util.HashMap<>();
        for (ReuseTable.Group g : reuse.table().groups) {
            if (!g.key().isEmpty()) {
                byKey.putIfAbsent(g.key(), g);
            }
        }
        for (int from = 0, to; from < files.size(); from = to) {
            int g = files.get(from).group();
            to = groupTo(from);
            ReuseTable.Group old = keys[g].isEmpty() ? null : byKey.get(keys[g]);
            if (old != null) {
                String why = unusable(old, from, to);
                if (why == null) {
                    copied[g] = old;
                } else {
                    events.warn(reuse.name() + ": " + keys[g].split(" ")[0] + ": " + why + "; compressed again");
                }
            }
        }
        boolean[] hasFiles = new boolean[copied.length];
        for (FileInode f : files) {
            hasFiles[f.group()] = true;
        }
        int groups = 0;
        int copies = 0;
        for (int g = 0; g < copied.length; g++) {
            groups += hasFiles[g] ? 1 : 0;
            copies += copied[g] != null ? 1 : 0;
        }
        events.info(reuse.name() + ": " + copies + " of " + groups + " store paths with data copied, "
                + (groups - copies) + " compressed");
    }

    /** Why the earlier image's group {@code old} cannot stand for files {@code from..to}, or null when it can. */
    private String unusable(ReuseTable.Group old, int from, int to) throws IOException {
        if (old.files().size() != to - from) {
            return "other files";
        }
        long len = old.extentLength();
        if (old.extentStart() < SquashfsOnDisk.SUPERBLOCK_SIZE || len < 0 || old.extentStart() + len > reuse.channel().size()) {
            return "extent outside the earlier image";
        }
        for (int k = 0; k < old.fragSizes().length; k++) {
            int s = old.fragSizes()[k] & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
            if (s > blockSize || old.fragRelStarts()[k] < 0 || old.fragRelStarts()[k] + s > len) {
                return "fragment outside its extent";
            }
        }
        for (int k = from; k < to; k++) {
            FileData d = old.files().get(k - from);
            if (old.fileSizes()[k - from] != files.get(k).file().size()) {
                return "other file sizes";
            }
            FileInode dup = placed[k].dupOf;
            if (old.external()[k - from] != (dup != null && dup.group() != files.get(k).group())) {
                return "other duplicates in earlier store paths";
            }
            if (old.blockCrcs().get(k - from).length != (dup != null ? 0 : 2 * d.sizes().length)) {
                return "other block checksums";
            }
            long end = d.start();
            for (int s : d.sizes()) {
                int n = s & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
                if ((s & ~(SquashfsOnDisk.DATA_UNCOMPRESSED | 0xFFFFFF)) != 0 || n > blockSize) {
                    return "invalid block size";
                }
                end += n;
            }
            if (d.start() < 0 || end > len || (d.fragIndex() != SquashfsOnDisk.INVALID_FRAG
                    && (d.fragIndex() < 0 || d.fragIndex() >= old.fragSizes().length || d.fragOffset() < 0
                    || d.fragOffset() >= blockSize))) {
                return "placement outside its extent";
            }
        }
        CRC32C c = new CRC32C();
        byte[] buf = READ_BUF.get();
        for (long done = 0; done < len; ) {
            int n = (int) Math.min(buf.length, len - done);
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
            while (bb.hasRemaining()) {
                if (reuse.channel().read(bb, old.extentStart() + done + bb.position()) < 0) {
                    return "extent past the end of the earlier image";
                }
            }
            c.update(buf, 0, n);
            done += n;
        }
        return c.getValue() == old.extentCrc32c() ? null : "data differs from its checksum (corrupt)";
    }

    /** The key of a data block by content: its length and the CRC32C of its bytes. */
    private static long contentKey(int len, int crc) {
        return (long) len << 32 | (crc & 0xffffffffL);
    }

    /**
     * Indexes the earlier image's data blocks by content ({@link #byContent}): every block of a file that holds
     * its own data, with the checksums of its table entry, whose stored bytes lie inside its group's extent and
     * the earlier image. A block of a group compressed again is looked up there ({@link #fromEarlier}).
     */
    private void indexEarlierBlocks() throws IOException {
        byContent = new java.util.HashMap<>();
        decompressors = ThreadLocal.withInitial(reuse.decompressors());
        long size = reuse.channel().size();
        for (ReuseTable.Group g : reuse.table().groups) {
            long len = g.extentLength();
            if (g.extentStart() < SquashfsOnDisk.SUPERBLOCK_SIZE || len < 0 || g.extentStart() + len > size) {
                continue;
            }
            for (int i = 0; i < g.files().size(); i++) {
                FileData d = g.files().get(i);
                int[] crcs = g.blockCrcs().get(i);
                if (g.external()[i] || crcs.length != 2 * d.sizes().length) {
                    continue;
                }
                long rel = d.start();
                for (int b = 0; b < d.sizes().length && rel >= 0; b++) {
                    int field = d.sizes()[b];
                    int n = field & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
                    if ((field & ~(SquashfsOnDisk.DATA_UNCOMPRESSED | 0xFFFFFF)) != 0 || n > blockSize || rel + n > len) {
                        break;
                    }
                    long plain = Math.min(blockSize, g.fileSizes()[i] - (long) b * blockSize);
                    if (n > 0 && plain > 0) {
                        byContent.computeIfAbsent(contentKey((int) plain, crcs[2 * b]), k -> new ArrayList<>(1))
                                .add(new long[] {g.extentStart() + rel, field, crcs[2 * b + 1]});
                    }
                    rel += n;
                }
            }
        }
    }

    /**
     * The stored bytes of a block with the bytes {@code buf[0, len)} (CRC32C {@code crc}) taken from the earlier
     * image, or null when it has none. A candidate counts only when its stored bytes have their recorded CRC32C
     * and decompress to exactly {@code buf[0, len)}: the earlier image was built with the same options (its
     * options digest), and a block's stored bytes are a function of its bytes and the options, so they are the
     * bytes compressing {@code buf} gives. Runs on a worker.
     */
    private Done fromEarlier(FileInode f, int block, byte[] buf, int len, int crc) {
        List<long[]> candidates = byContent.get(contentKey(len, crc));
        if (candidates == null) {
            return null;
        }
        for (long[] e : candidates) {
            int field = (int) e[1];
            int n = field & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
            boolean raw = (field & SquashfsOnDisk.DATA_UNCOMPRESSED) != 0;
            byte[] stored = pool.take();
            if (sameContent(e[0], n, raw, (int) e[2], stored, buf, len)) {
                return new Done(f, block, -1, stored, n, raw, false, f.group(), false, crc, (int) e[2], true);
            }
            pool.give(stored);
        }
        return null;
    }

    /**
     * Reads {@code n} stored bytes at {@code at} of the earlier image into {@code stored}; whether they have the
     * CRC32C {@code storedCrc} and stand for {@code buf[0, len)} (raw, or decompressed). A read error, a short
     * file or a corrupt block is "no".
     */
    private boolean sameContent(long at, int n, boolean raw, int storedCrc, byte[] stored, byte[] buf, int len) {
        try {
            ByteBuffer bb = ByteBuffer.wrap(stored, 0, n);
            while (bb.hasRemaining()) {
                if (reuse.channel().read(bb, at + bb.position()) < 0) {
                    return false;
                }
            }
        } catch (IOException e) {
            return false;
        }
        CRC32C c = new CRC32C();
        c.update(stored, 0, n);
        if ((int) c.getValue() != storedCrc) {
            return false;
        }
        if (raw) {
            return n == len && Arrays.equals(stored, 0, n, buf, 0, len);
        }
        byte[] plain = pool.take();
        try {
            int m = decompressors.get().decompress(stored, 0, n, plain, 0, blockSize);
            return m == len && Arrays.equals(plain, 0, len, buf, 0, len);
        } catch (CorruptImageException | RuntimeException e) {
            return false;
        } finally {
            pool.give(plain);
        }
    }

    /** Queues the copy of group {@code g}'s extent from the earlier image, in block-sized chunks, read on workers. */
    private void submitCopy(int g, ReuseTable.Group old, Pipeline<Done> pipeline) throws IOException {
        for (int k = 0; k < old.fragSizes().length; k++) {
            fragTable.add(new long[2]);
        }
        long len = old.extentLength();
        FileChannel ch = reuse.channel();
        for (long done = 0; done < len; done += blockSize) {
            long at = old.extentStart() + done;
            int n = (int) Math.min(blockSize, len - done);
            pipeline.submit(() -> {
                byte[] b = pool.take();
                ByteBuffer bb = ByteBuffer.wrap(b, 0, n);
                while (bb.hasRemaining()) {
                    if (ch.read(bb, at + bb.position()) < 0) {
                        throw new UserError(reuse.name() + ": shortened while it was read");
                    }
                }
                return new Done(null, -1, -1, b, n, false, false, g, true, 0, 0, false);
            });
        }
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
        p.crcs = new int[2 * (int) nblocks];
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
        // the all-zero test, the checksums and the search in the earlier image run on the worker
        pipeline.submit(() -> {
            if (len == blockSize && allZero(buf)) {
                pool.give(buf);
                return new Done(f, block, -1, null, 0, false, true, f.group());
            }
            CRC32C c = new CRC32C();
            c.update(buf, 0, len);
            int crc = (int) c.getValue();
            Done earlier = byContent == null ? null : fromEarlier(f, block, buf, len, crc);
            if (earlier != null) {
                pool.give(buf);
                return earlier;
            }
            Done d = compress(f, block, -1, buf, len, comp.get(), f.group());
            c.reset();
            c.update(d.data, 0, d.len);
            return new Done(f, block, -1, d.data, d.len, d.raw, false, f.group(), false, crc, (int) c.getValue(), false);
        });
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
        fragGroup = currentGroup;
        fragLen += tail;
        events.advance(tail);
    }

    private void flushFragment(Pipeline<Done> pipeline, ThreadLocal<Codec.Compressor> comp) throws IOException {
        byte[] buf = pool.take();
        System.arraycopy(fragBuf, 0, buf, 0, fragLen);
        int len = fragLen;
        int index = fragTable.size();
        int g = fragGroup;
        fragTable.add(new long[2]);
        pipeline.submit(() -> compress(null, -1, index, buf, len, comp.get(), g));
        fragLen = 0;
    }

    private Done compress(FileInode f, int block, int fragment, byte[] buf, int len, Codec.Compressor c, int group) {
        byte[] dst = pool.take();
        int n = c.compress(buf, 0, len, dst);
        if (n > 0) {
            pool.give(buf);
            return new Done(f, block, fragment, dst, n, false, false, group);
        }
        pool.give(dst);
        return new Done(f, block, fragment, buf, len, true, false, group);
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
        int g = d.group;
        if (groupStart[g] < 0) {
            groupStart[g] = pos;
            groupCrc[g] = new CRC32C();
        }
        if (d.copy) {
            out.write(d.data, 0, d.len);
            groupCrc[g].update(d.data, 0, d.len);
            pool.give(d.data);
            groupEnd[g] = pos + d.len;
            if (groupEnd[g] - groupStart[g] == copied[g].extentLength()
                    && groupCrc[g].getValue() != copied[g].extentCrc32c()) {
                throw new UserError(reuse.name() + ": changed while it was read (store path "
                        + keys[g].split(" ")[0] + ")");
            }
            return;
        }
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
            p.crcs[2 * d.block] = d.crc;
            p.crcs[2 * d.block + 1] = d.storedCrc;
            if (d.sparse) {
                p.sparse += blockSize;
            }
            if (d.fromEarlier) {
                blocksFromEarlier++;
                bytesFromEarlier += d.len;
            } else if (!d.sparse) {
                blocksCompressed++;
            }
        }
        if (!d.sparse) {
            out.write(d.data, 0, d.len);
            groupCrc[g].update(d.data, 0, d.len);
            pool.give(d.data);
        }
        groupEnd[g] = out.position();
    }
}
