package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.fs.Dir;
import dev.microforge.fs.Entry;
import dev.microforge.fs.Node;
import dev.microforge.fs.RegularFile;
import dev.microforge.fs.Reproducible;
import dev.microforge.fs.Symlink;
import dev.microforge.image.BlockPool;
import dev.microforge.image.CorruptImageException;
import dev.microforge.image.Pipeline;
import dev.microforge.image.erofs.ErofsReuse.FileMap;
import dev.microforge.image.erofs.compress.ErofsAlgorithm;
import dev.microforge.image.erofs.compress.PclusterCodec;
import dev.microforge.image.source.DuplicateFinder;
import dev.microforge.image.source.SourceFile;
import dev.microforge.util.AtomicOutput;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.Threads;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.zip.CRC32C;

/**
 * Writes an EROFS image that the Linux 6.1 kernel mounts, from a normalized {@link Dir} tree.
 *
 * <p>Layout: block 0 holds the superblock (at 1024); file data follows from block 1, store path after store
 * path (the files of one top-level entry, in inode order; written by a deterministic parallel pipeline: read,
 * compress in parallel, write in order), so that each store path's blocks are one extent; then the packed
 * inode's pclusters (fragments), one part per store path, each part padded to 4 KiB and compressed on its own;
 * then the metadata area (inodes with their inline tails and compression indexes, packed so that no inline
 * tail crosses a block boundary); then the blocks of large directories and long symlinks; after the file
 * system's last block, the reuse table ({@link ErofsReuse}). Everything is a pure function of the tree and the
 * options, so the bytes do not depend on thread count or input order, nor on whether an earlier image was
 * reused ({@code --reuse}: unchanged store paths' extents and inode maps are copied from it).
 */
public final class ErofsWriter {
    public enum Compression {
        NONE, LZ4, LZ4HC, ZSTD, LZMA, DEFLATE;

        public static Compression parse(String s) {
            return switch (s) {
                case "none" -> NONE;
                case "lz4" -> LZ4;
                case "lz4hc" -> LZ4HC;
                case "zstd" -> ZSTD;
                case "lzma" -> LZMA;
                case "deflate" -> DEFLATE;
                default -> throw new UserError("unknown erofs compression '" + s + "' (expected none, lz4, lz4hc, zstd, lzma or deflate)");
            };
        }

        /** The codec of zstd, lzma and deflate; null for none, lz4 and lz4hc. */
        public PclusterCodec codec() {
            return switch (this) {
                case ZSTD -> PclusterCodec.ZSTD;
                case LZMA -> PclusterCodec.LZMA;
                case DEFLATE -> PclusterCodec.DEFLATE;
                default -> null;
            };
        }

        /** The level used when none is given: the codec's default, else {@link #DEFAULT_HC_LEVEL}. */
        public int defaultLevel() {
            PclusterCodec c = codec();
            return c != null ? c.defaultLevel() : DEFAULT_HC_LEVEL;
        }
    }

    /**
     * Build options. {@code level} applies to lz4hc (1..12, default {@link #DEFAULT_HC_LEVEL}); {@code pclusterSize} is the physical
     * cluster size of compressed data (4 KiB .. 1 MiB, a multiple of 4 KiB; above 4 KiB: big pclusters);
     * {@code uuid} null derives the UUID from the content; {@code dedupe} stores identical uncompressed files
     * once (shared data blocks); {@code ztailpacking} inlines a compressed file's last pcluster after its
     * indexes; {@code fragments} keeps the tails of compressed files (whole small files included) in the
     * packed inode, compressed together.
     */
    public record Options(Compression compression, int level, int pclusterSize, String label, UUID uuid, int threads, long mtime, boolean dedupe,
            boolean ztailpacking, boolean fragments) {
        public Options(Compression compression, int level, int pclusterSize, String label, UUID uuid, int threads, long mtime, boolean dedupe) {
            this(compression, level, pclusterSize, label, uuid, threads, mtime, dedupe, false, false);
        }

        public Options {
            if (compression == null) {
                throw new IllegalArgumentException("compression");
            }
            if (compression == Compression.LZ4HC && (level < 1 || level > 12)) {
                throw new UserError("--level " + level + ": lz4hc levels are 1..12");
            }
            if (compression.codec() != null) {
                compression.codec().checkLevel(level);
            }
            if (pclusterSize < BLOCK_SIZE || pclusterSize > MAX_PCLUSTER || pclusterSize % BLOCK_SIZE != 0) {
                throw new UserError("--pcluster " + pclusterSize + ": expected a multiple of 4096 from 4096 to " + MAX_PCLUSTER);
            }
            if (label == null) {
                label = "";
            }
            if (label.getBytes(StandardCharsets.UTF_8).length > 15) {
                throw new UserError("--label '" + label + "': at most 15 bytes");
            }
            Threads.check(threads);
            if (mtime < 0) {
                throw new IllegalArgumentException("mtime");
            }
        }

        public static Options defaults() {
            return new Options(Compression.NONE, DEFAULT_HC_LEVEL, BLOCK_SIZE, "nix-store", null, Runtime.getRuntime().availableProcessors(),
                    Reproducible.mtime(), true);
        }

        public Options withCompression(Compression c) {
            return new Options(c, level, pclusterSize, label, uuid, threads, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withThreads(int t) {
            return new Options(compression, level, pclusterSize, label, uuid, t, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withUuid(UUID u) {
            return new Options(compression, level, pclusterSize, label, u, threads, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withLabel(String l) {
            return new Options(compression, level, pclusterSize, l, uuid, threads, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withMtime(long m) {
            return new Options(compression, level, pclusterSize, label, uuid, threads, m, dedupe, ztailpacking, fragments);
        }

        public Options withLevel(int l) {
            return new Options(compression, l, pclusterSize, label, uuid, threads, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withPcluster(int p) {
            return new Options(compression, level, p, label, uuid, threads, mtime, dedupe, ztailpacking, fragments);
        }

        public Options withZtailpacking(boolean z) {
            return new Options(compression, level, pclusterSize, label, uuid, threads, mtime, dedupe, z, fragments);
        }

        public Options withFragments(boolean f) {
            return new Options(compression, level, pclusterSize, label, uuid, threads, mtime, dedupe, ztailpacking, f);
        }

        public Options withDedupe(boolean d) {
            return new Options(compression, level, pclusterSize, label, uuid, threads, mtime, d, ztailpacking, fragments);
        }
    }

    /** What was written. */
    public record Result(long blocks, long inodes, UUID uuid, long dataBlocks, long metaBytes, long compressedFiles, long dedupedFiles) {}

    /** The lz4hc level when none is given: 4 hash-chain links per search (why: docs/benchmarks.md, bench:lz4). */
    public static final int DEFAULT_HC_LEVEL = 3;

    private static final int SEGMENT = 1 << 20;
    /** The largest physical cluster (Linux: Z_EROFS_PCLUSTER_MAX_SIZE). */
    public static final int MAX_PCLUSTER = 1 << 20;

    private final Options opt;
    private final Events events;
    private final List<Inode> inodes = new ArrayList<>();
    private FileChannel out;
    private long nextBlock = 1;
    private long compressedFiles;
    private long dedupedFiles;
    private final MessageDigest contentDigest;
    /** The compressor's algorithm id and configuration (null for uncompressed images); the data is compressed by per-thread instances. */
    private final PclusterCompressor codec;

    private ErofsWriter(Options opt, Events events, Map<String, String> narHashes, Path reuse, Set<String> corrupt) {
        this.opt = opt;
        this.events = events;
        this.narHashes = narHashes;
        this.reusePath = reuse;
        this.planner = new ReusePlanner(opt, planNotes, corrupt);
        this.codec = opt.compression() == Compression.NONE ? null : PclusterCompressor.forOptions(opt);
        try {
            contentDigest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the image to {@code image} atomically (nothing is left there on failure). */
    public static Result write(Dir root, Path image, Options opt, Events events) throws IOException {
        try (AtomicOutput ao = AtomicOutput.create(image)) {
            Result r = write(root, ao.channel(), opt, events);
            ao.commit();
            return r;
        }
    }

    /** Writes the image into {@code channel} from position 0. */
    public static Result write(Dir root, FileChannel channel, Options opt, Events events) throws IOException {
        return write(root, channel, opt, events, Map.of(), null);
    }

    /**
     * As {@link #write(Dir, FileChannel, Options, Events)}. {@code narHashes}: the narHash of each top-level entry
     * (store path name) that has one; they key the reuse table (an entry without one is never copied from an
     * earlier image). {@code reuse}: an earlier image (or null) whose store paths with the same name, narHash and
     * options are copied instead of compressed; the image is the same as without it. {@code reuse} missing or not
     * an EROFS image is bad input; an image without a usable reuse table, or built with other options, is a
     * warning (nothing reused), as is a store path whose data or inodes fail their checksums (compressed again).
     * A copied extent is read once and checked against its checksum as it is copied; when one fails, the image
     * is written again from position 0 with those store paths compressed (a warning each), and when one fails
     * in that second pass too (the earlier image changed while it was read) the build fails with one line.
     */
    public static Result write(Dir root, FileChannel channel, Options opt, Events events, Map<String, String> narHashes, Path reuse)
            throws IOException {
        Set<String> corrupt = new HashSet<>();
        for (int pass = 0; ; pass++) {
            ErofsWriter w = new ErofsWriter(opt, events, narHashes, reuse, corrupt);
            try (WriteBehind wb = new WriteBehind(channel, WriteBehind.STEP)) {
                w.writeBehind = wb;
                Result r = w.run(root, channel);
                wb.finish();
                return r;
            } catch (CopyMismatch m) {
                if (pass > 0) {
                    throw new UserError(m.image + ": changed while it was read");
                }
                corrupt.addAll(m.keys);
                channel.truncate(0);
            } finally {
                if (w.old != null) {
                    w.old.ch().close();
                }
            }
        }
    }

    /** Copied extents of the store paths {@code keys} of {@code image} did not have their checksums. */
    private static final class CopyMismatch extends IOException {
        final String image;
        final Set<String> keys;

        CopyMismatch(String image, Set<String> keys) {
            super(image + ": copied data differs from its checksum");
            this.image = image;
            this.keys = keys;
        }
    }

    /** The planner's notes, given to the caller's events once the data pass has copied every planned extent intact. */
    private final List<Runnable> heldNotes = new ArrayList<>();
    private final Events planNotes = new Events() {
        @Override
        public void warn(String message) {
            heldNotes.add(() -> events.warn(message));
        }

        @Override
        public void info(String message) {
            heldNotes.add(() -> events.info(message));
        }
    };

    private void flushPlanNotes() {
        heldNotes.forEach(Runnable::run);
        heldNotes.clear();
    }

    // ---------------------------------------------------------------- inodes

    /** Numbers the tree breadth-first from the root (index 0), one inode per node. */
    private void collect(Dir root) {
        ArrayDeque<Inode> queue = new ArrayDeque<>();
        queue.add(inode(root, null));
        while (!queue.isEmpty()) {
            Inode ino = queue.poll();
            inodes.add(ino);
            if (ino instanceof Inode.Directory d) {
                for (Entry e : ((Dir) nodes.remove(d)).entries()) {
                    Inode c = inode(e.node(), d);
                    c.group = d.group < 0 ? d.children.size() : d.group;
                    d.names.add(e.nameRef());
                    d.children.add(c);
                    queue.add(c);
                }
            }
        }
    }

    /** The tree node of each directory not yet collected. */
    private final Map<Inode, Node> nodes = new HashMap<>();
    private int numbered;

    private Inode inode(Node n, Inode.Directory parent) {
        int index = numbered++;
        if (n instanceof Dir d) {
            int subdirs = 0;
            for (Entry e : d.entries()) {
                if (e.node() instanceof Dir) {
                    subdirs++;
                }
            }
            Inode.Directory ino = new Inode.Directory(index, S_IFDIR | (d.mode() & 07777), parent, new ArrayList<>(d.entries().size()),
                    new ArrayList<>(d.entries().size()), 2 + subdirs);
            nodes.put(ino, d);
            return ino;
        } else if (n instanceof RegularFile f) {
            return new Inode.File(index, S_IFREG | (f.mode() & 07777), f, f.size());
        } else if (n instanceof Symlink l) {
            return new Inode.Link(index, S_IFLNK | (l.mode() & 07777), l.target());
        }
        throw new IllegalArgumentException("unsupported node " + n);
    }

    // ---------------------------------------------------------------- main flow

    private Result run(Dir root, FileChannel channel) throws IOException {
        this.out = channel;
        collect(root);
        long totalBytes = 0;
        for (Inode i : inodes) {
            if (i instanceof Inode.File f) {
                totalBytes += f.size;
            }
        }
        if (dedupeMinSize() > 0) {
            markCandidates(dedupeMinSize());
        }
        setUpGroups();
        if (reusePath != null) {
            old = planner.open(reusePath);
            if (old != null) {
                resolveDuplicates();
                plans = planner.plan(old, paths);
            }
        }
        events.start("erofs: writing file data", totalBytes);
        try (PackedInode p = packedData) {
            writeFileData();
        }
        events.finish("erofs: writing file data");
        if (!mismatched.isEmpty()) {
            throw new CopyMismatch(old.name(), mismatched);
        }
        flushPlanNotes();
        for (Inode i : inodes) {
            if (i instanceof Inode.Directory d) {
                planDirectory(d);
            }
        }
        // metadata layout
        long metaBlkaddr = nextBlock;
        long metaSize = layoutMetadata();
        long metaBlocks = (metaSize + BLOCK_SIZE - 1) / BLOCK_SIZE;
        long extraBlock = metaBlkaddr + metaBlocks;
        // blocks after the metadata: directories of more than one block, long symlinks (in inode order)
        List<Inode> withBlocks = new ArrayList<>();
        List<byte[]> extraBlocks = new ArrayList<>();
        for (Inode i : inodes) {
            if (i instanceof Inode.Directory d) {
                byte[] all = buildDirectory(d);
                int full = d.plan().fullBlocks();
                Inode.Directory.Plan plan = d.plan();
                byte[] tail = plan.inline() ? Arrays.copyOfRange(all, full * BLOCK_SIZE, full * BLOCK_SIZE + plan.lastLen()) : null;
                d.setBody(new Inode.Body(plan.inline() ? LAYOUT_FLAT_INLINE : LAYOUT_FLAT_PLAIN, full > 0 ? extraBlock : 0, tail, false));
                if (full > 0) {
                    withBlocks.add(d);
                    extraBlocks.add(Arrays.copyOf(all, full * BLOCK_SIZE));
                    extraBlock += full;
                }
            } else if (i instanceof Inode.Link l) {
                if (l.inline()) {
                    l.setBody(new Inode.Body(LAYOUT_FLAT_INLINE, 0, l.target, false));
                } else {
                    l.setBody(new Inode.Body(LAYOUT_FLAT_PLAIN, extraBlock, null, false));
                    withBlocks.add(l);
                    extraBlocks.add(Arrays.copyOf(l.target, l.blocks() * BLOCK_SIZE));
                    extraBlock += l.blocks();
                }
            }
        }
        if (metaSize > Integer.MAX_VALUE - BLOCK_SIZE) {
            throw new UserError("image metadata would exceed 2 GiB; too many files");
        }
        MessageDigest idDigest = sha256();
        idDigest.update(contentDigest.digest());
        writeMetadata(metaBlkaddr * BLOCK_SIZE, metaBlocks * BLOCK_SIZE, idDigest);
        for (int k = 0; k < withBlocks.size(); k++) {
            writeFully(ByteBuffer.wrap(extraBlocks.get(k)), withBlocks.get(k).body().iu() * BLOCK_SIZE);
            idDigest.update(extraBlocks.get(k));
        }
        long totalBlocks = extraBlock;
        if (totalBlocks > 0xFFFFFFFFL) {
            throw new UserError("image would exceed 16 TiB");
        }
        UUID uuid = opt.uuid() != null ? opt.uuid() : uuidFrom(idDigest, totalBlocks);
        byte[] block0 = superblock(inodes.get(0).nid(), metaBlkaddr, totalBlocks, uuid);
        writeFully(ByteBuffer.wrap(block0), 0);
        out.truncate(totalBlocks * BLOCK_SIZE);
        writeFully(ByteBuffer.wrap(ErofsReuse.withTrailer(planner.table(paths, written()))), totalBlocks * BLOCK_SIZE);
        return new Result(totalBlocks, inodes.size(), uuid, metaBlkaddr - 1, metaSize, compressedFiles, dedupedFiles);
    }

    /**
     * Encodes every inode into the metadata area {@code [start, start + length)} of the image and feeds the area's
     * bytes, in order, to {@code digest}: through a window of 1 MiB (more for an inode whose record is longer) that
     * moves forward in whole blocks, so that the area is never in memory at once.
     */
    private void writeMetadata(long start, long length, MessageDigest digest) throws IOException {
        List<Inode> order = new ArrayList<>(inodes);
        order.sort(Comparator.comparingLong(i -> i.metaOff));
        byte[] win = new byte[(int) Math.min(length, METADATA_WINDOW)];
        long winStart = 0;
        for (Inode i : order) {
            long end = i.metaOff + i.isize() + i.tailLength();
            if (end - winStart > win.length) {
                long to = i.metaOff / BLOCK_SIZE * BLOCK_SIZE;
                int n = (int) (to - winStart);
                writeFully(ByteBuffer.wrap(win, 0, n), start + winStart);
                digest.update(win, 0, n);
                System.arraycopy(win, n, win, 0, win.length - n);
                Arrays.fill(win, win.length - n, win.length, (byte) 0);
                winStart = to;
                if (end - winStart > win.length) {
                    win = Arrays.copyOf(win, (int) ((end - winStart + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE));
                }
            }
            i.encode(ByteBuffer.wrap(win).order(ByteOrder.LITTLE_ENDIAN), winStart, opt.mtime(), Reproducible.UID, Reproducible.GID);
        }
        for (long at = winStart; at < length; ) {
            int n = (int) Math.min(win.length, length - at);
            writeFully(ByteBuffer.wrap(win, 0, n), start + at);
            digest.update(win, 0, n);
            Arrays.fill(win, (byte) 0);
            at += n;
        }
    }

    /** The metadata area's window (see writeMetadata). */
    private static final int METADATA_WINDOW = 1 << 20;

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private UUID uuidFrom(MessageDigest d, long totalBlocks) {
        d.update(opt.label().getBytes(StandardCharsets.UTF_8));
        d.update(Long.toString(totalBlocks).getBytes(StandardCharsets.US_ASCII));
        byte[] h = d.digest();
        h[6] = (byte) ((h[6] & 0x0F) | 0x50); // name-based (v5-style) version
        h[8] = (byte) ((h[8] & 0x3F) | 0x80); // RFC 4122 variant
        ByteBuffer b = ByteBuffer.wrap(h);
        return new UUID(b.getLong(), b.getLong());
    }

    private void writeFully(ByteBuffer b, long pos) throws IOException {
        try {
            while (b.hasRemaining()) {
                pos += out.write(b, pos);
            }
        } catch (IOException e) {
            throw new IOException("cannot write the image: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- superblock

    private byte[] superblock(long rootNid, long metaBlkaddr, long blocks, UUID uuid) {
        if (rootNid > 0xFFFF) {
            throw new IllegalStateException("root nid " + rootNid);
        }
        int incompat = 0;
        int comprAlgs = 0; // lz4_max_distance without COMPR_CFGS: 0 = the default 64 KiB window
        List<byte[]> configs = List.of();
        if (opt.compression() != Compression.NONE) {
            PclusterCompressor c = codec;
            incompat |= FEATURE_INCOMPAT_ZERO_PADDING;
            if (opt.pclusterSize() > BLOCK_SIZE || c.algorithm() != COMPRESSION_LZ4) {
                incompat |= FEATURE_INCOMPAT_COMPR_CFGS; // = BIG_PCLUSTER
                comprAlgs = 1 << c.algorithm();
                configs = List.of(c.config(opt.pclusterSize()));
            }
            if (opt.ztailpacking()) {
                incompat |= FEATURE_INCOMPAT_ZTAILPACKING;
            }
            if (opt.fragments()) {
                incompat |= FEATURE_INCOMPAT_FRAGMENTS;
            }
        }
        return new Superblock(FEATURE_COMPAT_SB_CHKSUM, BLOCK_BITS, 0, (int) rootNid, inodes.size(), opt.mtime(), blocks, metaBlkaddr, uuid,
                opt.label().getBytes(StandardCharsets.UTF_8), incompat, comprAlgs, packed != null ? packed.nid() : 0, configs).encode();
    }

    // ---------------------------------------------------------------- directories

    private void planDirectory(Inode.Directory d) {
        // entries: ".", "..", children; sorted by unsigned bytes
        int n = d.children.size() + 2;
        byte[][] names = new byte[n][];
        Inode[] targets = new Inode[n];
        names[0] = new byte[] {'.'};
        targets[0] = d;
        names[1] = new byte[] {'.', '.'};
        targets[1] = d.parent == null ? d : d.parent;
        for (int i = 0; i < d.children.size(); i++) {
            names[i + 2] = d.names.get(i);
            targets[i + 2] = d.children.get(i);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> RawNames.compare(names[a], names[b]));
        List<byte[]> sortedNames = new ArrayList<>(n);
        List<Inode> sortedTargets = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            sortedNames.add(names[order[i]]);
            sortedTargets.add(targets[order[i]]);
        }
        List<Integer> starts = new ArrayList<>();
        int used = 0;
        for (int i = 0; i < n; i++) {
            int need = DIRENT_SIZE + sortedNames.get(i).length;
            if (starts.isEmpty() || used + need > BLOCK_SIZE) {
                starts.add(i);
                used = 0;
            }
            used += need;
        }
        long size = (long) (starts.size() - 1) * BLOCK_SIZE + used;
        int isize = size > 0xFFFFFFFFL || d.nlink() > 0xFFFF ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
        boolean inline = used < BLOCK_SIZE && isize + used <= BLOCK_SIZE;
        d.setPlan(new Inode.Directory.Plan(List.copyOf(sortedNames), List.copyOf(sortedTargets), starts.stream().mapToInt(Integer::intValue).toArray(),
                used, size, inline));
    }

    /** All dirent blocks of a planned directory (the last one possibly partial, to go inline). */
    private static byte[] buildDirectory(Inode.Directory d) {
        Inode.Directory.Plan plan = d.plan();
        int blocks = plan.blockStarts().length;
        byte[] all = new byte[blocks * BLOCK_SIZE];
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < blocks; k++) {
            int from = plan.blockStarts()[k];
            int to = k + 1 < blocks ? plan.blockStarts()[k + 1] : plan.targets().size();
            int base = k * BLOCK_SIZE;
            int nameOff = (to - from) * DIRENT_SIZE;
            for (int i = from; i < to; i++) {
                Inode t = plan.targets().get(i);
                byte[] name = plan.names().get(i);
                int p = base + (i - from) * DIRENT_SIZE;
                b.putLong(p, t.nid());
                b.putShort(p + 8, (short) nameOff);
                b.put(p + 10, (byte) dirFileType(t.mode));
                System.arraycopy(name, 0, all, base + nameOff, name.length);
                nameOff += name.length;
            }
        }
        return all;
    }

    // ---------------------------------------------------------------- metadata layout

    /** Assigns every inode its offset in the metadata area; returns the area's size. */
    private long layoutMetadata() {
        MetadataLayout layout = new MetadataLayout();
        for (Inode i : inodes) {
            int size = i.isize() + i.tailLength();
            i.metaOff = layout.place(size, i.indexed() ? i.isize() + LEGACY_MAP_HEADER_SIZE : size, i.index != 0);
        }
        if (inodes.get(0).nid() > 0xFFFF) {
            throw new IllegalStateException("root inode not at the start of the metadata");
        }
        return layout.size();
    }

    // ---------------------------------------------------------------- file data

    /**
     * One segment of one file: the unit of parallel work. {@code last}: the file's last segment; {@code end}: the
     * last segment of a file or of one store path's part of the packed inode, which ends at {@code partEnd}.
     */
    private record Segment(Inode.File ino, RegularFile file, long offset, int length, boolean last, boolean end, long partEnd, int part) {
        Segment(Inode.File ino, RegularFile file, long offset, int length, boolean last) {
            this(ino, file, offset, length, last, last, ino.size, -1);
        }
    }

    /**
     * A segment's physical clusters: {@code blocks} holds {@code nBlocks} blocks, block after block; each extent's
     * start is relative to the segment and its address relative to {@code blocks}. {@code fragStart} (or -1): with
     * fragments, the segment's remainder from there goes to the packed inode.
     */
    private record Clusters(byte[] blocks, int nBlocks, List<Extent> extents, int fragStart) {
        Extent last() {
            return extents.get(extents.size() - 1);
        }

        /** These clusters without the fragment, followed by {@code more} (the remainder compressed after all). */
        Clusters append(Clusters more) {
            byte[] b = Arrays.copyOf(blocks, Math.max(blocks.length, (nBlocks + more.nBlocks) * BLOCK_SIZE));
            System.arraycopy(more.blocks, 0, b, nBlocks * BLOCK_SIZE, more.nBlocks * BLOCK_SIZE);
            List<Extent> e = new ArrayList<>(extents);
            for (Extent x : more.extents) {
                e.add(x.moved(0, nBlocks));
            }
            return new Clusters(b, nBlocks + more.nBlocks, e, -1);
        }

        Clusters withLast(Extent e) {
            List<Extent> l = new ArrayList<>(extents);
            l.set(l.size() - 1, e);
            return new Clusters(blocks, nBlocks, l, fragStart);
        }
    }

    /**
     * A segment read and, when compressed, its clusters (null for uncompressed images); or ({@code copy}) blocks
     * of a store path's data or packed part read from the earlier image ({@code raw}).
     */
    private record SegmentResult(Segment seg, byte[] raw, byte[] sha, Clusters clusters, CopyChunk copy) {
        SegmentResult(Segment seg, byte[] raw, byte[] sha, Clusters clusters) {
            this(seg, raw, sha, clusters, null);
        }
    }

    /**
     * Blocks copied from the earlier image: of group {@code group}'s data extent, or of its packed part;
     * {@code data} holds them (null when there are none).
     */
    private record CopyChunk(int group, boolean packed, boolean first, boolean last, int blocks, ByteBuffer data) {}

    private final ThreadLocal<PclusterCompressor> compressors = new ThreadLocal<>();

    private PclusterCompressor compressor() {
        PclusterCompressor c = compressors.get();
        if (c == null) {
            c = PclusterCompressor.forOptions(opt);
            compressors.set(c);
        }
        return c;
    }

    private Iterator<Segment> segments(List<Inode.File> files) {
        return new Iterator<>() {
            int idx = 0;
            long off = 0;
            Segment next = advance();

            private Segment advance() {
                while (idx < files.size()) {
                    Inode.File i = files.get(idx);
                    if (i.size > 0 && i.dupOf == null) {
                        if (off < i.size) {
                            int len = (int) Math.min(SEGMENT, i.size - off);
                            Segment s = new Segment(i, i.file, off, len, off + len == i.size);
                            off += len;
                            return s;
                        }
                    }
                    idx++;
                    off = 0;
                }
                return null;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public Segment next() {
                Segment s = next;
                next = advance();
                return s;
            }
        };
    }

    // ---------------------------------------------------------------- store paths (groups) and copies (--reuse)

    /** Blocks of one copy work item. */
    private static final int COPY_CHUNK = SEGMENT / BLOCK_SIZE;

    private final Map<String, String> narHashes;
    private final Path reusePath;
    /** Starts the write-back of what the data pass writes (set by {@link #write}). */
    private WriteBehind writeBehind;
    /** The earlier image (--reuse) when it has a usable reuse table, else null. */
    private ReusePlanner.Old old;
    private final ReusePlanner planner;
    /** The store paths (groups, {@link ReusePlanner.StorePaths}): count, files in data order, group g's [groupFrom[g], groupTo[g]). */
    private ReusePlanner.StorePaths paths;
    private int groups;
    private List<Inode.File> dataOrder;
    private int[] groupFrom;
    private int[] groupTo;
    /** Per group: its data extent (first block, blocks, CRC32C), its packed part (see {@link #parts}). */
    private long[] groupDataStart;
    private long[] groupDataBlocks;
    private long[] groupDataCrc;
    private long[] partStart;
    private long[] partLength;
    private long[] partBlock;
    private long[] partBlocks;
    private long[] partCrc;
    private int[] partMapsCrc;
    private int[] partIndex;
    /** Per group: a tail did not fit the packed inode (never copied then). */
    private boolean[] refused;
    /** Per group: copied from the earlier image (null: compressed). */
    private ReusePlanner.Plan[] plans;
    private int currentGroup = -1;
    /** Index of the packed inode's extents where the current part's start. */
    private int partExtFrom;
    /** CRC32C of the blocks copied so far for the current copied extent. */
    private final CRC32C copyCrc = new CRC32C();
    /** Keys of the copied store paths whose extents did not have their checksums. */
    private final Set<String> mismatched = new HashSet<>();
    /** Direct buffers of {@link #COPY_CHUNK} blocks for the copies, given back once written. */
    private final ConcurrentLinkedQueue<ByteBuffer> copyBuffers = new ConcurrentLinkedQueue<>();
    /** The store paths' parts of the packed inode, in order: group, start, length (a multiple of 4 KiB). */
    private final List<long[]> parts = new ArrayList<>();

    /** Groups and the data order (see {@link ReusePlanner#storePaths}); the per-group records of the data pass. */
    private void setUpGroups() {
        paths = ReusePlanner.storePaths(inodes, narHashes);
        groups = paths.count();
        dataOrder = paths.dataOrder();
        groupFrom = paths.from();
        groupTo = paths.to();
        groupDataStart = new long[groups];
        groupDataBlocks = new long[groups];
        groupDataCrc = new long[groups];
        partStart = new long[groups];
        partLength = new long[groups];
        partBlock = new long[groups];
        partBlocks = new long[groups];
        partCrc = new long[groups];
        partMapsCrc = new int[groups];
        partIndex = new int[groups];
        Arrays.fill(partIndex, -1);
        refused = new boolean[groups];
        plans = new ReusePlanner.Plan[groups];
    }

    /** The data sink reached group {@code g}: the groups before it are closed, their extents recorded. */
    private void switchGroup(int g) throws IOException {
        while (currentGroup < g) {
            if (currentGroup >= 0) {
                int c = currentGroup;
                groupDataBlocks[c] = nextBlock - groupDataStart[c];
                groupDataCrc[c] = plans[c] != null ? plans[c].old().dataCrc() : runningCrc();
            }
            currentGroup++;
            if (currentGroup < groups) {
                groupDataStart[currentGroup] = nextBlock;
                resetCrc();
            }
        }
    }

    /**
     * The CRC32C of the bytes {@link #emit}ted since {@link #resetCrc}: {@code committed} for those before
     * {@link #commitCrc}, {@code running} for those after it (a possible duplicate's, discarded when it is one).
     */
    private long committedCrc;
    private final CRC32C running = new CRC32C();
    private long runningLen;

    /** Writes {@code b[off, off+len)} at block {@link #nextBlock} (the caller advances it) and adds it to the CRC32C. */
    private void emit(byte[] b, int off, int len) throws IOException {
        if (background != null) {
            background.write(b, off, len, nextBlock * BLOCK_SIZE);
        } else {
            writeFully(ByteBuffer.wrap(b, off, len), nextBlock * BLOCK_SIZE);
        }
        writeBehind.wrote(len);
        running.update(b, off, len);
        runningLen += len;
    }

    private void resetCrc() {
        committedCrc = 0;
        running.reset();
        runningLen = 0;
    }

    /** Folds the running CRC32C into the committed one: what follows may be discarded ({@link #discardCrc}). */
    private void commitCrc() {
        committedCrc = runningCrc();
        running.reset();
        runningLen = 0;
    }

    private void discardCrc() {
        running.reset();
        runningLen = 0;
    }

    private long runningCrc() {
        return ErofsReuse.crc32cCombine(committedCrc, running.getValue(), runningLen);
    }

    /** The fragment offset of group {@code g}'s packed part (0 when it has none). */
    private long partStartOf(int g) {
        return partIndex[g] >= 0 ? partStart[g] : 0;
    }

    /**
     * Starts store path {@code group}'s part of the packed inode unless it is the current one: the previous part
     * is padded with zeros to a 4 KiB boundary, so that every part starts an lcluster of its own and is
     * compressed on its own (its pclusters hold nothing of another store path).
     */
    private void openPart(int group) throws IOException {
        if (!parts.isEmpty() && parts.get(parts.size() - 1)[0] == group) {
            return;
        }
        closePart();
        partIndex[group] = parts.size();
        partStart[group] = packedData.length();
        parts.add(new long[] {group, packedData.length(), 0});
    }

    /** Pads the current part of the packed inode to a 4 KiB boundary and records its length. */
    private void closePart() throws IOException {
        if (parts.isEmpty()) {
            return;
        }
        long[] p = parts.get(parts.size() - 1);
        packedData.pad(BLOCK_SIZE);
        p[2] = packedData.length() - p[1];
        partLength[(int) p[0]] = p[2];
    }

    /** The packed sink reached part {@code k}. */
    private void startPart(int k) {
        int g = (int) parts.get(k)[0];
        partBlock[g] = nextBlock;
        partExtFrom = extents.size();
        resetCrc();
    }

    /** The packed sink finished part {@code k}: its blocks, their CRC32C and its extents' description. */
    private void endPart(int k) throws IOException {
        long[] p = parts.get(k);
        int g = (int) p[0];
        partBlocks[g] = nextBlock - partBlock[g];
        partCrc[g] = plans[g] != null ? plans[g].old().partCrc() : runningCrc();
        partMapsCrc[g] = ReusePlanner.describeExtents(extents.subList(partExtFrom, extents.size()), -p[1], -partBlock[g]);
    }

    /** The data pass's work: per group, its files' segments, or the copy of its extent from the earlier image. */
    private Iterator<Callable<SegmentResult>> dataWork() {
        List<Callable<SegmentResult>> items = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            ReusePlanner.Plan p = plans[g];
            if (p != null) {
                addCopy(items, g, false, p.old().dataStart(), p.old().dataBlocks());
            } else {
                for (Iterator<Segment> it = segments(dataOrder.subList(groupFrom[g], groupTo[g])); it.hasNext(); ) {
                    Segment s = it.next();
                    items.add(() -> work(s));
                }
            }
        }
        return items.iterator();
    }

    /** The packed inode's work: each part in segments of at most 1 MiB (the part's last one ending it), or its copy. */
    private Iterator<Callable<SegmentResult>> packedWork(Inode.File p) {
        List<Callable<SegmentResult>> items = new ArrayList<>();
        for (int k = 0; k < parts.size(); k++) {
            long[] part = parts.get(k);
            int g = (int) part[0];
            if (part[2] == 0) {
                continue;
            }
            if (plans[g] != null) {
                addCopy(items, g, true, plans[g].old().partBlock(), plans[g].old().partBlocks());
                continue;
            }
            long end = part[1] + part[2];
            for (long off = part[1]; off < end; off += SEGMENT) {
                int len = (int) Math.min(SEGMENT, end - off);
                Segment s = new Segment(p, null, off, len, false, off + len == end, end, k);
                items.add(() -> work(s));
            }
        }
        return items.iterator();
    }

    /**
     * Adds the copy of {@code blocks} blocks from block {@code start} of the earlier image, in chunks read on
     * workers into direct buffers (the sink writes the same buffer it checks).
     */
    private void addCopy(List<Callable<SegmentResult>> items, int g, boolean packed, long start, long blocks) {
        if (blocks == 0) {
            items.add(() -> new SegmentResult(null, null, null, null, new CopyChunk(g, packed, true, true, 0, null)));
            return;
        }
        for (long done = 0; done < blocks; done += COPY_CHUNK) {
            long at = start + done;
            int n = (int) Math.min(COPY_CHUNK, blocks - done);
            boolean first = done == 0;
            boolean last = done + n == blocks;
            items.add(() -> {
                ByteBuffer b = copyBuffers.poll();
                if (b == null) {
                    b = ByteBuffer.allocateDirect(COPY_CHUNK * BLOCK_SIZE);
                }
                b.clear().limit(n * BLOCK_SIZE);
                while (b.hasRemaining()) {
                    if (old.ch().read(b, at * BLOCK_SIZE + b.position()) < 0) {
                        throw new UserError(old.name() + ": shortened while it was read");
                    }
                }
                b.flip();
                return new SegmentResult(null, null, null, null, new CopyChunk(g, packed, first, last, n, b));
            });
        }
    }

    /**
     * Writes copied blocks; at the end of a group's extent, checks them (a mismatch is recorded in
     * {@link #mismatched}: this pass's image is then discarded) and gives its files their bodies.
     */
    private void sinkCopy(CopyChunk c) throws IOException {
        int g = c.group();
        ReusePlanner.Plan p = plans[g];
        if (!c.packed()) {
            switchGroup(g);
        } else if (c.first()) {
            startPart(partIndex[g]);
        }
        if (c.first()) {
            copyCrc.reset();
        }
        if (c.data() != null) {
            // the copied group's checksums are the earlier image's: the running CRC32C is not needed
            copyCrc.update(c.data().duplicate());
            if (background != null) {
                // the buffer goes back to its pool at once, so it is written here, after what waits
                background.flush();
            }
            writeFully(c.data(), nextBlock * BLOCK_SIZE);
            writeBehind.wrote(c.blocks() * (long) BLOCK_SIZE);
            copyBuffers.offer(c.data());
        }
        nextBlock += c.blocks();
        if (!c.last()) {
            return;
        }
        if (copyCrc.getValue() != (c.packed() ? p.old().partCrc() : p.old().dataCrc())) {
            mismatched.add(p.old().key());
        }
        if (c.packed()) {
            int k = partIndex[g];
            for (Extent e : p.partExtents()) {
                extents.add(e.moved(partStart[g], partBlock[g]));
            }
            endPart(k);
            return;
        }
        long ps = 0;
        if (p.old().partLength() > 0) {
            openPart(g);
            ps = partStart[g];
            packedData.skip(p.old().partLength());
        }
        long bytes = 0;
        for (int k = groupFrom[g]; k < groupTo[g]; k++) {
            Inode.File f = dataOrder.get(k);
            bytes += f.size;
            if (f.size > 0 && f.dupOf == null) {
                setMap(f, p.maps()[k - groupFrom[g]].moved(groupDataStart[g], ps));
            }
        }
        events.advance(bytes);
    }

    /**
     * Resolves the duplicates before the data pass, for planning {@code --reuse} (which compares each store path's
     * files that share data of an earlier one): the same decisions as the data pass takes without it.
     */
    private void resolveDuplicates() throws IOException {
        if (dedupeMinSize() <= 0) {
            return;
        }
        List<Inode.File> cand = new ArrayList<>();
        List<RegularFile> regular = new ArrayList<>();
        for (Inode.File f : dataOrder) {
            if (f.size >= dedupeMinSize()) {
                cand.add(f);
                regular.add(f.file);
            }
        }
        int[] canonical = DuplicateFinder.resolve(regular, opt.threads());
        for (int k = 0; k < canonical.length; k++) {
            if (canonical[k] != k) {
                cand.get(k).dupOf = cand.get(canonical[k]);
                dedupedFiles++;
            }
        }
    }

    /** What the data pass wrote per group, for the reuse table. */
    private List<ReusePlanner.Written> written() {
        List<ReusePlanner.Written> list = new ArrayList<>(groups);
        for (int g = 0; g < groups; g++) {
            boolean hasPart = partIndex[g] >= 0 && partLength[g] > 0;
            list.add(new ReusePlanner.Written(groupDataStart[g], groupDataBlocks[g], groupDataCrc[g], hasPart, partStart[g], partLength[g],
                    partBlock[g], partBlocks[g], partCrc[g], partMapsCrc[g], refused[g]));
        }
        return list;
    }

    private byte[] readSegment(Segment s) throws IOException {
        byte[] buf = s.length() == SEGMENT ? rawPool.take() : new byte[s.length()];
        if (s.ino().packedContent != null) {
            s.ino().packedContent.read(s.offset(), buf);
            return buf;
        }
        RegularFile f = s.file();
        if (f.source() == null) {
            System.arraycopy(f.data(), (int) s.offset(), buf, 0, s.length());
            return buf;
        }
        try (SourceFile in = SourceFile.open(f, s.offset())) {
            in.readFully(buf, 0, s.length());
            if (s.last()) {
                in.expectEnd();
            }
        }
        return buf;
    }

    private SegmentResult work(Segment s) throws IOException {
        byte[] raw = readSegment(s);
        Clusters c = null;
        if (opt.compression() != Compression.NONE) {
            c = compress(s, raw, 0, opt.fragments() && s.ino().packedContent == null);
        }
        // a possible duplicate that is one segment is hashed here, on a worker, not on the in-order sink
        byte[] sha = null;
        if (s.ino().candidate && old == null && s.offset() == 0 && s.last()) {
            MessageDigest d = shaOfWorker.get();
            d.update(raw);
            sha = d.digest();
        }
        return new SegmentResult(s, raw, sha, c);
    }

    private static final ThreadLocal<MessageDigest> shaOfWorker = ThreadLocal.withInitial(ErofsWriter::sha256);

    /**
     * Splits {@code raw[from..]} into physical clusters: LZ4 ones (as much input as fits in one pcluster, kept
     * when it saves at least one block; right-aligned in its blocks, zeros in front) and raw 4 KiB ones where
     * compression does not pay. With {@code fragments}, the file's remainder that fits in one pcluster is left
     * for the packed inode ({@code fragStart}).
     */
    private Clusters compress(Segment seg, byte[] raw, int from, boolean fragments) {
        PclusterCompressor c = compressor();
        final int pcluster = opt.pclusterSize();
        int len = raw.length;
        int cap = (len - from + BLOCK_SIZE - 1) / BLOCK_SIZE + 1;
        // a recycled array holds old bytes: every block below nb is written whole (padding zeroed) below
        byte[] blocks = cap * BLOCK_SIZE == BLOCKS_OF_SEGMENT ? blocksPool.take() : new byte[cap * BLOCK_SIZE];
        List<Extent> ext = new ArrayList<>();
        int fragStart = -1;
        byte[] tmp = new byte[pcluster];
        int pos = from;
        int nb = 0;
        boolean last = seg.end();
        boolean packedPart = seg.ino().packedContent != null;
        while (pos < len) {
            if (fragments && last && len - pos <= c.wholeFitLimit(pcluster)) {
                fragStart = pos; // the remainder surely fits in one pcluster: no need to compress it to know
                break;
            }
            long res = c.compressDestSize(raw, pos, len - pos, tmp, 0, pcluster);
            int consumed = PclusterCompressor.consumed(res);
            int prod = PclusterCompressor.produced(res);
            boolean rest = consumed == len - pos; // everything left fits in this pcluster
            if (fragments && last && rest) {
                fragStart = pos;
                break;
            }
            int k = (prod + BLOCK_SIZE - 1) / BLOCK_SIZE;
            if (nb + Math.max(k, 1) > cap || ext.size() == cap) {
                // compression lost (an incompressible run, or a last plain extent split at its lcluster boundary)
                int ncap = Math.max(cap * 2, nb + k + 1);
                blocks = Arrays.copyOf(blocks, ncap * BLOCK_SIZE);
                cap = ncap;
            }
            // with ztailpacking, a file's last pcluster is kept compressed when it shrinks at all: it may go inline
            boolean inlineCandidate = opt.ztailpacking() && !packedPart && last && rest && k == 1 && prod < consumed;
            if (consumed > k * BLOCK_SIZE || inlineCandidate) {
                // right-aligned in its blocks, zeros in front (the ZERO_PADDING feature)
                Arrays.fill(blocks, nb * BLOCK_SIZE, (nb + k) * BLOCK_SIZE - prod, (byte) 0);
                System.arraycopy(tmp, 0, blocks, (nb + k) * BLOCK_SIZE - prod, prod);
                ext.add(Extent.compressed(pos, nb, k, prod));
                pos += consumed;
                nb += k;
                continue;
            }
            int n = Math.min(BLOCK_SIZE, len - pos);
            int clusterOfs = (int) ((seg.offset() + pos) % BLOCK_SIZE);
            if (last && pos + n == len && clusterOfs + n > BLOCK_SIZE) {
                // The file's last extent, stored plain, would cross an lcluster boundary. Linux 6.1 (zmap.c)
                // sizes the last extent up to the end of the lcluster holding EOF and rejects a plain extent
                // longer than its pcluster (-EFSCORRUPTED). Store it compressed when its LZ4 block fits in
                // one block; else end it at the boundary and let the rest start the next lcluster.
                if (consumed == n && k == 1) {
                    Arrays.fill(blocks, nb * BLOCK_SIZE, (nb + 1) * BLOCK_SIZE - prod, (byte) 0);
                    System.arraycopy(tmp, 0, blocks, (nb + 1) * BLOCK_SIZE - prod, prod);
                    ext.add(Extent.compressed(pos, nb, 1, prod));
                    pos += n;
                    nb++;
                    continue;
                }
                n = BLOCK_SIZE - clusterOfs;
            }
            System.arraycopy(raw, pos, blocks, nb * BLOCK_SIZE, n);
            Arrays.fill(blocks, nb * BLOCK_SIZE + n, (nb + 1) * BLOCK_SIZE, (byte) 0);
            ext.add(Extent.plain(pos, nb));
            pos += n;
            nb++;
        }
        return new Clusters(blocks, nb, ext, fragStart);
    }

    // per-file state of the in-order writer
    private MessageDigest recheck;
    /** The current file may be a duplicate of an earlier one: it is hashed ({@link #recheck} or its worker's). */
    private boolean possibleDuplicate;
    /**
     * Uncompressed dedupe: the first file (in inode order) of each content; a later file of the same size and
     * SHA-256 (its first 8 bytes as the checksum) is a duplicate only when its bytes equal the earlier file's.
     */
    private final DuplicateFinder<Inode.File> duplicates =
            new DuplicateFinder<>((c, later) -> DuplicateFinder.sameBytes(c.file, later.file));
    private long fileFirstBlock;
    /** The current file's extents (in the image). */
    private final List<Extent> extents = new ArrayList<>();
    private byte[] inlineTail;
    private final PackedInode packedData = new PackedInode();

    /**
     * With more than one thread, the data pass's writes ({@link #emit}) go to the image on a thread of their own
     * (the sink hands over arrays it does not touch again): the in-order sink was the uncompressed build's
     * critical path, and half of its time was the copies into the page cache.
     */
    private BackgroundWriter background;

    /** Bytes the data pass's writes may have waiting (16 one-MiB segments). */
    private static final int BACKGROUND_QUEUE = 16 << 20;

    private void writeFileData() throws IOException {
        if (opt.threads() > 1) {
            background = new BackgroundWriter(out, BACKGROUND_QUEUE, (ch, b, pos) -> writeFully(b, pos));
        }
        try {
            writeFileDataPasses();
            if (background != null) {
                background.flush();
            }
        } finally {
            if (background != null) {
                background.close();
                background = null;
            }
        }
    }

    private void writeFileDataPasses() throws IOException {
        List<Inode.File> files = dataOrder;
        runPipeline(dataWork());
        switchGroup(groups);
        closePart();
        // empty files and duplicates
        for (Inode.File i : files) {
            if (i.size == 0) {
                i.setBody(Inode.Body.EMPTY);
                i.desc = ReusePlanner.EMPTY_DESC;
            } else if (i.dupOf != null) {
                i.setBody(i.dupOf.body());
                i.desc = i.dupOf.group == i.group ? i.dupOf.desc : ReusePlanner.EXTERNAL_DESC;
            }
        }
        if (!packedData.isEmpty()) {
            // the packed inode: every fragment in inode order, compressed like a file (no fragments of its own);
            // it is in no directory, the superblock names it
            Inode.File p = new Inode.File(inodes.size(), S_IFREG, null, packedData.length());
            p.packedContent = packedData;
            inodes.add(p);
            packed = p;
            fileFirstBlock = nextBlock;
            extents.clear();
            inlineTail = null;
            recheck = null;
            possibleDuplicate = false;
            runPipeline(packedWork(p));
            finishCompressed(p);
            p.packedContent = null;
        }
        for (int g = 0; g < groups; g++) {
            contentDigest.update(ByteBuffer.allocate(32).putLong(groupDataBlocks[g]).putLong(groupDataCrc[g])
                    .putLong(partBlocks[g]).putLong(partCrc[g]).array());
        }
    }

    private Inode.File packed;

    private void runPipeline(Iterator<Callable<SegmentResult>> work) throws IOException {
        try (Pipeline<SegmentResult> p = new Pipeline<>(opt.threads(), Math.max(4, opt.threads() * 4), (seq, r) -> sink(r))) {
            while (work.hasNext()) {
                p.submit(work.next());
            }
            p.finish();
        }
    }

    private void sink(SegmentResult r) throws IOException {
        if (r.copy() != null) {
            sinkCopy(r.copy());
            return;
        }
        sinkSegment(r);
        // the segment's arrays are no longer used once written: a full segment's go back to the pools
        byte[] raw = r.raw();
        byte[] blocks = r.clusters() != null ? r.clusters().blocks() : null;
        boolean rawBack = raw.length == SEGMENT;
        boolean blocksBack = blocks != null && blocks.length == BLOCKS_OF_SEGMENT;
        if (rawBack || blocksBack) {
            Runnable back = () -> {
                rawPool.give(raw);
                blocksPool.give(blocks);
            };
            if (background != null) {
                background.then(back);
            } else {
                back.run();
            }
        }
    }

    /** Bytes of the clusters array of a full segment (see {@link #compress}). */
    private static final int BLOCKS_OF_SEGMENT = (SEGMENT / BLOCK_SIZE + 1) * BLOCK_SIZE;
    /** At most this many arrays wait in each pool (about what the pipeline and the background writer hold). */
    private static final int POOL_MAX = 32;
    /** Full segments' raw arrays and clusters arrays that may be used again (their bytes are not zeroed). */
    private final BlockPool rawPool = new BlockPool(SEGMENT, POOL_MAX);
    private final BlockPool blocksPool = new BlockPool(BLOCKS_OF_SEGMENT, POOL_MAX);

    private void sinkSegment(SegmentResult r) throws IOException {
        Segment s = r.seg;
        Inode.File i = s.ino();
        if (i.packedContent == null) {
            switchGroup(i.group);
        } else if (s.offset() == parts.get(s.part())[1]) {
            startPart(s.part());
        }
        if (s.offset() == 0 && i.packedContent == null) {
            fileFirstBlock = nextBlock;
            extents.clear();
            inlineTail = null;
            possibleDuplicate = i.candidate && old == null;
            recheck = possibleDuplicate && r.sha() == null ? sha256() : null;
            if (possibleDuplicate) {
                commitCrc();
            }
        }
        if (i.packedContent == null) {
            events.advance(s.length());
        }
        if (possibleDuplicate) {
            // a possible duplicate (uncompressed dedupe): written as it comes, hashed on the way (a file of one
            // segment by its worker); when its last segment shows it equals an earlier file, its blocks are given
            // back (the next file overwrites them) and it shares the earlier file's
            if (recheck != null) {
                recheck.update(r.raw);
            }
            if (s.last()) {
                i.sha = recheck != null ? recheck.digest() : r.sha();
                Inode.File c = duplicates.canonicalOf(i, i.size, ByteBuffer.wrap(i.sha).getLong()).orElse(null);
                if (c != null) {
                    i.dupOf = c;
                    dedupedFiles++;
                    nextBlock = fileFirstBlock;
                    discardCrc();
                    return;
                }
            }
        }
        if (opt.compression() == Compression.NONE) {
            writeRaw(i, r.raw, s.last());
            return;
        }
        Clusters c = r.clusters();
        if (c.fragStart() >= 0) {
            openPart(i.group);
        }
        if (c.fragStart() >= 0 && !packedData.fits(r.raw().length - c.fragStart())) {
            refused[i.group] = true;
            // the packed inode is full: this remainder goes to the file's own pclusters after all
            c = c.append(compress(s, r.raw(), c.fragStart(), false));
        }
        List<Extent> ext = c.extents();
        int ne = ext.size();
        long size = i.size;
        long nIdx = (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
        // ztailpacking: the file's last pcluster (one block, compressed) inline after the inode and its indexes,
        // when inode, map header, indexes and tail fit in one block
        boolean isPacked = i.packedContent != null;
        boolean inline = s.last() && !isPacked && c.fragStart() < 0 && opt.ztailpacking() && ne > 0 && c.last().kind() == Extent.Kind.COMPRESSED
                && c.last().blocks() == 1 && i.isize() + 8 + CompactIndex.size(nIdx) + c.last().produced() <= BLOCK_SIZE;
        int written = inline ? c.nBlocks() - 1 : c.nBlocks();
        boolean single = s.offset() == 0 && s.last();
        if (single && !isPacked && c.fragStart() < 0 && written >= (s.length() + BLOCK_SIZE - 1) / BLOCK_SIZE) {
            writeRaw(i, r.raw(), true);
            return;
        }
        if (!inline && s.end() && opt.pclusterSize() > BLOCK_SIZE && ne > 0 && c.fragStart() < 0 && c.last().kind() == Extent.Kind.COMPRESSED
                && (s.offset() + c.last().start()) / BLOCK_SIZE == (s.partEnd() - 1) / BLOCK_SIZE) {
            // With big pclusters, Linux 6.1 reads a compressed head's block count from the next lcluster, which
            // the last lcluster does not have (-EINVAL): store that extent (at most one block) raw instead. The
            // packed inode does so at the end of every store path's part too, so that a part's blocks do not
            // depend on what follows it.
            int st = (int) c.last().start();
            int blk = (int) c.last().addr();
            Arrays.fill(c.blocks(), blk * BLOCK_SIZE, (blk + 1) * BLOCK_SIZE, (byte) 0);
            System.arraycopy(r.raw(), st, c.blocks(), blk * BLOCK_SIZE, r.raw().length - st);
            c = c.withLast(Extent.plain(st, blk));
            ext = c.extents();
        }
        emit(c.blocks(), 0, written * BLOCK_SIZE);
        for (int k = 0; k < ne; k++) {
            Extent x = ext.get(k);
            if (inline && k == ne - 1) {
                int blk = (int) x.addr();
                int prod = x.produced();
                inlineTail = Arrays.copyOfRange(c.blocks(), (blk + 1) * BLOCK_SIZE - prod, (blk + 1) * BLOCK_SIZE);
                extents.add(new Extent(s.offset() + x.start(), Extent.Kind.INLINE, 0, 0, prod));
            } else {
                extents.add(x.moved(s.offset(), nextBlock));
            }
        }
        nextBlock += written;
        if (c.fragStart() >= 0) {
            long at = packedData.append(r.raw(), c.fragStart(), r.raw().length - c.fragStart());
            extents.add(new Extent(s.offset() + c.fragStart(), Extent.Kind.FRAGMENT, at, 0, 0));
        }
        if (isPacked) {
            if (s.end()) {
                endPart(s.part());
            }
        } else if (s.last()) {
            finishCompressed(i);
        }
    }

    /** Uncompressed data: full blocks now, the tail inline (or in its own block when it cannot be inlined). */
    private void writeRaw(Inode.File i, byte[] raw, boolean last) throws IOException {
        int full = last ? raw.length / BLOCK_SIZE * BLOCK_SIZE : raw.length;
        if (full > 0) {
            emit(raw, 0, full);
            nextBlock += full / BLOCK_SIZE;
        }
        if (!last) {
            return;
        }
        int tail = raw.length - full;
        long iu = i.size >= BLOCK_SIZE ? fileFirstBlock : 0;
        if (tail == 0) {
            setMap(i, new FileMap(LAYOUT_FLAT_PLAIN, iu, iu != 0, null, null));
        } else if (i.isize() + tail <= BLOCK_SIZE) {
            setMap(i, new FileMap(LAYOUT_FLAT_INLINE, iu, iu != 0, null, Arrays.copyOfRange(raw, full, raw.length)));
        } else {
            byte[] blk = new byte[BLOCK_SIZE];
            System.arraycopy(raw, full, blk, 0, tail);
            emit(blk, 0, BLOCK_SIZE);
            if (i.size < BLOCK_SIZE) {
                iu = nextBlock;
            }
            nextBlock++;
            setMap(i, new FileMap(LAYOUT_FLAT_PLAIN, iu, true, null, null));
        }
    }

    /**
     * The compact lcluster index of a compressed file (what mkfs.erofs writes by default), from its extents:
     * map header (advise: compact 2B packs, big pclusters, inline tail pcluster, fragment), then the packs, then
     * the inline tail pcluster if any. A file that is one fragment gets only the 8-byte header (bit 63 set,
     * the rest its offset in the packed inode).
     */
    private void finishCompressed(Inode.File i) {
        long blocks = nextBlock - fileFirstBlock;
        Extent lastExt = extents.get(extents.size() - 1);
        if (extents.size() == 1 && lastExt.kind() == Extent.Kind.FRAGMENT) {
            setMap(i, new FileMap(LAYOUT_COMPRESSED_FULL, blocks, false, List.of(lastExt), null));
        } else {
            setMap(i, new FileMap(LAYOUT_COMPRESSED_COMPACT, blocks, false, List.copyOf(extents), inlineTail));
        }
    }

    /**
     * Decides file {@code i}'s body from its map (absolute addresses) and, for a file of a store path, the
     * description of its map relative to the store path's extents (what the reuse table checks).
     */
    private void setMap(Inode.File i, FileMap m) {
        i.setBody(body(m, i.size));
        if (m.layout() == LAYOUT_COMPRESSED_COMPACT || m.layout() == LAYOUT_COMPRESSED_FULL) {
            compressedFiles++;
        }
        if (i.packedContent == null) {
            CRC32C c = new CRC32C();
            m.moved(-groupDataStart[i.group], -partStartOf(i.group)).describe(c);
            i.desc = (int) c.getValue();
        }
    }

    /**
     * The body of a file of {@code size} bytes from its map. A compressed file: the compact lcluster index (what mkfs.erofs writes by
     * default), from its extents: map header (advise: compact 2B packs, big pclusters, inline tail pcluster,
     * fragment), then the packs, then the inline tail pcluster if any. A file that is one fragment gets only the
     * 8-byte header (bit 63 set, the rest its offset in the packed inode).
     */
    private Inode.Body body(FileMap m, long size) {
        if (m.extents() == null) {
            return new Inode.Body(m.layout(), m.iu(), m.tail(), false);
        }
        Extent lastExt = m.extents().get(m.extents().size() - 1);
        boolean fragment = lastExt.kind() == Extent.Kind.FRAGMENT;
        if (m.layout() == LAYOUT_COMPRESSED_FULL) {
            byte[] z = new byte[8];
            ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putLong(0, lastExt.addr() | Long.MIN_VALUE);
            return new Inode.Body(LAYOUT_COMPRESSED_FULL, m.iu(), z, true);
        }
        boolean big = opt.pclusterSize() > BLOCK_SIZE;
        int n = (int) ((size + BLOCK_SIZE - 1) / BLOCK_SIZE);
        byte[] area = CompactIndex.encode(m.extents(), n, big);
        int idata = m.tail() == null ? 0 : m.tail().length;
        byte[] z = new byte[8 + area.length + idata];
        ByteBuffer b = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        int advise = ADVISE_COMPACTED_2B | (big ? ADVISE_BIG_PCLUSTER_1 | ADVISE_BIG_PCLUSTER_2 : 0)
                | (idata > 0 ? ADVISE_INLINE_PCLUSTER : 0) | (fragment ? ADVISE_FRAGMENT_PCLUSTER : 0);
        if (fragment) {
            if (lastExt.addr() > 0xFFFFFFFFL) {
                throw new IllegalStateException("fragment offset beyond 4 GiB");
            }
            b.putInt(0, (int) lastExt.addr()); // h_fragmentoff
        } else {
            b.putShort(2, (short) idata); // h_idata_size
        }
        b.putShort(4, (short) advise);
        b.put(6, (byte) codec.algorithm());
        b.put(7, (byte) 0); // lclusterbits 12
        System.arraycopy(area, 0, z, 8, area.length);
        if (idata > 0) {
            System.arraycopy(m.tail(), 0, z, 8 + area.length, idata);
        }
        return new Inode.Body(LAYOUT_COMPRESSED_COMPACT, m.iu(), z, true);
    }

    // ---------------------------------------------------------------- dedupe (whole files)

    /**
     * Whether equal compressed files share one body (pclusters, inline tail, fragment offset): their pclusters are
     * then referenced by several inodes, which Linux reads from 6.1 on (multi-reference pclusters, erofs-utils'
     * {@code -Ededupe}). Only for the algorithms that need a newer kernel anyway (deflate 6.6, zstd 6.10), so the
     * lz4 images keep what 6.1's mount test proves and lzma what 5.16 reads.
     */
    /** The smallest file that may share another's data (uncompressed: a block; zstd and deflate: any), 0: none. */
    private long dedupeMinSize() {
        if (!opt.dedupe()) {
            return 0;
        }
        return opt.compression() == Compression.NONE ? BLOCK_SIZE : sharesCompressedFiles() ? 1 : 0;
    }

    private boolean sharesCompressedFiles() {
        return codec.algorithm() == ErofsAlgorithm.ZSTD.id() || codec.algorithm() == ErofsAlgorithm.DEFLATE.id();
    }

    /**
     * Marks the files (of at least {@code minSize} bytes) that share their size with another: the data pass
     * hashes them as it writes them, so every file is read once (see {@link #sink}); the first of equal files in
     * inode order keeps the blocks (and fragment), whatever the thread count.
     */
    private void markCandidates(long minSize) {
        Map<Long, Inode.File> firstOfSize = new HashMap<>();
        for (Inode n : inodes) {
            if (n instanceof Inode.File i && i.size >= minSize) {
                Inode.File prev = firstOfSize.putIfAbsent(i.size, i);
                if (prev != null) {
                    prev.candidate = true;
                    i.candidate = true;
                }
            }
        }
    }
}
