package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageFs;
import dev.microforge.image.erofs.compress.AlgorithmConfig;
import dev.microforge.image.erofs.compress.ErofsAlgorithm;
import dev.microforge.image.erofs.compress.PclusterCodec;
import dev.microforge.image.erofs.compress.PclusterDecoder;
import dev.microforge.image.lz4.Lz4Decompressor;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads EROFS images: what {@link ErofsWriter} writes, and mkfs.erofs images (plain and inline data; LZ4 with
 * full or compact lcluster indexes, big pclusters, ztailpacking and fragments; 4 KiB blocks). Every offset, length and count is
 * checked against the image size before it is used, directories may not form loops, and decompressed
 * extents are bounded, so a corrupt image raises {@link CorruptImageException}: it never hangs and never
 * allocates more than the image could justify. Safe for concurrent reads: nodes are immutable, image reads are
 * positional, the packed inode is set up once under a lock and its extent cache is one immutable value, and
 * the directory-parent map is concurrent.
 */
public final class ErofsReader implements ImageFs {
    /** LZ4 expands at most ~255x: an extent of one 4 KiB pcluster cannot decode to more than this. */
    static final int MAX_EXTENT = BLOCK_SIZE * 256;
    /** The most one compressed extent may decode to (big pclusters included); the kernel's own limit is lower. */
    static final int MAX_EXTENT_BYTES = 16 << 20;
    private static final int SUPPORTED_INCOMPAT = FEATURE_INCOMPAT_ZERO_PADDING | FEATURE_INCOMPAT_BIG_PCLUSTER
            | FEATURE_INCOMPAT_ZTAILPACKING | FEATURE_INCOMPAT_FRAGMENTS;

    private final FileChannel ch;
    private final long imageSize;
    private final long metaBase;
    private final long rootNid;
    private final long buildTime;
    private final int incompat;
    /** available_compr_algs (lz4 alone without COMPR_CFGS) and the records of its algorithms. */
    private final int algBits;
    private final Map<ErofsAlgorithm, AlgorithmConfig> configs;
    private final ThreadLocal<PclusterDecoder[]> decoders = ThreadLocal.withInitial(() -> new PclusterDecoder[ErofsAlgorithm.values().length]);

    /** This thread's decoder of algorithm {@code alg} (one of {@link #algBits}). */
    private PclusterDecoder decoder(int alg) {
        PclusterDecoder[] d = decoders.get();
        if (d[alg] == null) {
            d[alg] = PclusterCodec.decoder(configs.get(ErofsAlgorithm.ofId(alg)));
        }
        return d[alg];
    }
    private final long packedNid;
    private final Map<String, String> summary = new LinkedHashMap<>();
    /** Directory nid to the nid of the one directory that lists it (loop detection); shared by all threads. */
    private final Map<Long, Long> dirParent = new ConcurrentHashMap<>();

    private ErofsReader(FileChannel ch) throws IOException {
        this.ch = ch;
        this.imageSize = ch.size();
        if (imageSize < BLOCK_SIZE) {
            throw new CorruptImageException("image is " + imageSize + " bytes, smaller than one block");
        }
        byte[] block0 = readAt(0, BLOCK_SIZE);
        Superblock sb = Superblock.decode(block0);
        int compat = sb.compat();
        incompat = sb.incompat();
        if ((incompat & ~SUPPORTED_INCOMPAT) != 0) {
            throw new CorruptImageException(String.format("unsupported incompatible features 0x%x", incompat & ~SUPPORTED_INCOMPAT));
        }
        rootNid = sb.rootNid();
        packedNid = (incompat & FEATURE_INCOMPAT_FRAGMENTS) != 0 ? sb.packedNid() : 0;
        if ((incompat & FEATURE_INCOMPAT_COMPR_CFGS) != 0) {
            algBits = sb.comprAlgs();
            configs = AlgorithmConfig.decodeArea(algBits, block0, SUPER_OFFSET + SUPER_SIZE, BLOCK_SIZE);
        } else {
            algBits = ErofsAlgorithm.LZ4.bit();
            configs = Map.of(ErofsAlgorithm.LZ4, new AlgorithmConfig(ErofsAlgorithm.LZ4, sb.comprAlgs(), 1));
        }
        long inodes = sb.inodes();
        buildTime = sb.buildTime();
        long blocks = sb.blocks();
        long metaBlk = sb.metaBlkaddr();
        if (blocks * BLOCK_SIZE > imageSize) {
            throw new CorruptImageException("superblock says " + blocks + " blocks but the image has " + imageSize + " bytes");
        }
        if (metaBlk >= blocks) {
            throw new CorruptImageException("metadata start block " + metaBlk + " is beyond the " + blocks + " blocks");
        }
        metaBase = metaBlk * BLOCK_SIZE;
        UUID uuid = sb.uuid();
        StringBuilder algs = new StringBuilder();
        for (ErofsAlgorithm a : configs.keySet()) {
            algs.append(algs.length() > 0 ? "," : "").append(a.label());
        }
        summary.put("compression", (incompat & FEATURE_INCOMPAT_ZERO_PADDING) != 0 ? algs.toString() : "none");
        summary.put("label", sb.labelString());
        summary.put("uuid", uuid.toString());
        summary.put("blocks", Long.toString(blocks));
        summary.put("block size", Integer.toString(BLOCK_SIZE));
        summary.put("inodes", Long.toString(inodes));
        summary.put("root nid", Long.toString(rootNid));
        summary.put("metadata start block", Long.toString(metaBlk));
        summary.put("build time", Long.toString(buildTime));
        summary.put("features", ((compat & FEATURE_COMPAT_SB_CHKSUM) != 0 ? "sb_csum" : "")
                + ((incompat & FEATURE_INCOMPAT_ZERO_PADDING) != 0 ? " lz4_0padding" : "")
                + ((incompat & FEATURE_INCOMPAT_BIG_PCLUSTER) != 0 ? " big_pcluster" : "")
                + ((incompat & FEATURE_INCOMPAT_ZTAILPACKING) != 0 ? " ztailpacking" : "")
                + ((incompat & FEATURE_INCOMPAT_FRAGMENTS) != 0 ? " fragments" : ""));
        if (packedNid != 0) {
            summary.put("packed nid", Long.toString(packedNid));
        }
        dirParent.put(rootNid, -1L);
    }

    public static ErofsReader open(Path image) throws IOException {
        FileChannel ch = FileChannel.open(image, StandardOpenOption.READ);
        try {
            return new ErofsReader(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** True when the bytes start an EROFS image (the magic at 1024). */
    public static boolean detect(byte[] head) {
        return head.length >= SUPER_OFFSET + 4
                && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(SUPER_OFFSET) == MAGIC;
    }

    @Override
    public String type() {
        return "erofs";
    }

    @Override
    public Map<String, String> summary() {
        return java.util.Collections.unmodifiableMap(summary);
    }

    @Override
    public Node root() throws IOException {
        Node n = node(rootNid);
        if (!(n instanceof DirNode)) {
            throw new CorruptImageException("root inode " + rootNid + " is not a directory");
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }

    // ------------------------------------------------------------------ low level

    private byte[] readAt(long off, int len) throws IOException {
        if (off < 0 || len < 0 || off > imageSize || len > imageSize - off) {
            throw new CorruptImageException("read of " + len + " bytes at offset " + off + " is outside the image (" + imageSize + " bytes)");
        }
        byte[] buf = new byte[len];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        long pos = off;
        while (bb.hasRemaining()) {
            int n = ch.read(bb, pos);
            if (n < 0) {
                throw new CorruptImageException("unexpected end of image at " + pos);
            }
            pos += n;
        }
        return buf;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A parsed inode. */
    private final class Inode {
        final long nid;
        final long off;
        final int isize;
        final int xattrSize;
        final int layout;
        final int mode;
        final long size;
        final long iu;
        final int uid;
        final int gid;
        final long mtime;

        Inode(long nid) throws IOException {
            this.nid = nid;
            if (nid < 0 || nid > (imageSize - metaBase) / 32) {
                throw new CorruptImageException("inode nid " + nid + " is outside the image");
            }
            off = metaBase + nid * 32;
            byte[] head = readAt(off, Math.min(INODE_EXTENDED_SIZE, (int) Math.min(INODE_EXTENDED_SIZE, imageSize - off)));
            if (head.length < INODE_COMPACT_SIZE) {
                throw new CorruptImageException("inode " + nid + " is truncated");
            }
            ByteBuffer b = le(head);
            int format = b.getShort(0) & 0xFFFF;
            boolean ext = (format & 1) != 0;
            layout = (format >>> 1) & 0x7;
            if ((format & ~0xF) != 0) {
                throw new CorruptImageException("inode " + nid + " has unknown format bits 0x" + Integer.toHexString(format));
            }
            int icount = b.getShort(2) & 0xFFFF;
            xattrSize = icount == 0 ? 0 : 12 + 4 * (icount - 1);
            mode = b.getShort(4) & 0xFFFF;
            if (ext) {
                if (head.length < INODE_EXTENDED_SIZE) {
                    throw new CorruptImageException("inode " + nid + " is truncated");
                }
                isize = INODE_EXTENDED_SIZE;
                size = b.getLong(8);
                iu = b.getInt(16) & 0xFFFFFFFFL;
                uid = b.getInt(24);
                gid = b.getInt(28);
                mtime = b.getLong(32);
            } else {
                isize = INODE_COMPACT_SIZE;
                size = b.getInt(8) & 0xFFFFFFFFL;
                iu = b.getInt(16) & 0xFFFFFFFFL;
                uid = b.getShort(24) & 0xFFFF;
                gid = b.getShort(26) & 0xFFFF;
                mtime = buildTime;
            }
            if (size < 0) {
                throw new CorruptImageException("inode " + nid + " has a negative size");
            }
        }

        String where() {
            return "inode " + nid;
        }

        long tailOffset() {
            return off + isize + xattrSize;
        }

        /** All data of an uncompressed inode with size at most {@code max}. */
        byte[] readAll(int max) throws IOException {
            if (size > max) {
                throw new CorruptImageException(where() + ": size " + size + " exceeds " + max);
            }
            byte[] outBuf = new byte[(int) size];
            try (InputStream in = openData()) {
                int p = 0;
                while (p < outBuf.length) {
                    int n = in.read(outBuf, p, outBuf.length - p);
                    if (n < 0) {
                        throw new CorruptImageException(where() + ": data ends early");
                    }
                    p += n;
                }
            }
            return outBuf;
        }

        InputStream openData() throws IOException {
            return switch (layout) {
                case LAYOUT_FLAT_PLAIN, LAYOUT_FLAT_INLINE -> new FlatStream(this);
                case LAYOUT_COMPRESSED_FULL, LAYOUT_COMPRESSED_COMPACT -> new ZStream(this);
                default -> throw new CorruptImageException(where() + ": unsupported data layout " + layout);
            };
        }
    }

    // ------------------------------------------------------------------ nodes

    private Node node(long nid) throws IOException {
        Inode ino = new Inode(nid);
        return switch (ino.mode & S_IFMT) {
            case S_IFDIR -> new ErofsDir(ino);
            case S_IFREG -> new ErofsFile(ino);
            case S_IFLNK -> {
                if (ino.size == 0 || ino.size > BLOCK_SIZE) {
                    throw new CorruptImageException(ino.where() + ": symlink target length " + ino.size + " is invalid");
                }
                byte[] target = ino.readAll(BLOCK_SIZE);
                for (byte x : target) {
                    if (x == 0) {
                        throw new CorruptImageException(ino.where() + ": symlink target contains NUL");
                    }
                }
                yield new ErofsLink(ino, target);
            }
            default -> throw new CorruptImageException(ino.where() + ": unsupported file type (mode 0" + Integer.toOctalString(ino.mode) + ")");
        };
    }

    private abstract static class Base {
        final Inode ino;

        Base(Inode ino) {
            this.ino = ino;
        }

        public int mode() {
            return ino.mode & 07777;
        }

        public int uid() {
            return ino.uid;
        }

        public int gid() {
            return ino.gid;
        }

        public long mtime() {
            return ino.mtime;
        }
    }

    private final class ErofsFile extends Base implements FileNode {
        ErofsFile(Inode ino) {
            super(ino);
        }

        @Override
        public long size() {
            return ino.size;
        }

        @Override
        public InputStream open() throws IOException {
            return ino.openData();
        }
    }

    private static final class ErofsLink extends Base implements LinkNode {
        private final byte[] target;

        ErofsLink(Inode ino, byte[] target) {
            super(ino);
            this.target = target;
        }

        @Override
        public byte[] target() {
            return target.clone();
        }
    }

    private final class ErofsDir extends Base implements DirNode {
        ErofsDir(Inode ino) {
            super(ino);
        }

        @Override
        public List<Child> children() throws IOException {
            if (ino.size > imageSize) {
                throw new CorruptImageException(ino.where() + ": directory size " + ino.size + " exceeds the image");
            }
            List<Child> out = new ArrayList<>();
            java.util.Set<Long> subdirs = new java.util.HashSet<>(); // each directory is listed once: a tree, not a DAG
            byte[] prev = null;
            boolean sawDot = false;
            boolean sawDotDot = false;
            try (InputStream in = ino.openData()) {
                long remaining = ino.size;
                long blockIndex = 0;
                byte[] blk = new byte[BLOCK_SIZE];
                while (remaining > 0) {
                    int len = (int) Math.min(BLOCK_SIZE, remaining);
                    int p = 0;
                    while (p < len) {
                        int n = in.read(blk, p, len - p);
                        if (n < 0) {
                            throw new CorruptImageException(ino.where() + ": directory data ends early");
                        }
                        p += n;
                    }
                    ByteBuffer b = le(blk);
                    int firstNameOff = b.getShort(8) & 0xFFFF;
                    if (firstNameOff < DIRENT_SIZE || firstNameOff >= len || firstNameOff % DIRENT_SIZE != 0) {
                        throw new CorruptImageException(ino.where() + ": bad directory block " + blockIndex + " (first name offset " + firstNameOff + ")");
                    }
                    int count = firstNameOff / DIRENT_SIZE;
                    for (int i = 0; i < count; i++) {
                        int e = i * DIRENT_SIZE;
                        long nid = b.getLong(e);
                        int nameOff = b.getShort(e + 8) & 0xFFFF;
                        int type = b.get(e + 10) & 0xFF;
                        int nameEnd;
                        if (i + 1 < count) {
                            nameEnd = b.getShort(e + DIRENT_SIZE + 8) & 0xFFFF;
                        } else {
                            nameEnd = nameOff;
                            while (nameEnd < len && blk[nameEnd] != 0) {
                                nameEnd++;
                            }
                        }
                        if (nameOff < firstNameOff || nameEnd > len || nameEnd <= nameOff || nameEnd - nameOff > 255) {
                            throw new CorruptImageException(ino.where() + ": bad directory entry " + i + " in block " + blockIndex);
                        }
                        byte[] name = Arrays.copyOfRange(blk, nameOff, nameEnd);
                        if (prev != null && RawNames.compare(prev, name) >= 0) {
                            throw new CorruptImageException(ino.where() + ": directory entries are not sorted at '" + RawNames.display(name) + "'");
                        }
                        prev = name;
                        if (Arrays.equals(name, new byte[] {'.'})) {
                            sawDot = true;
                            continue;
                        }
                        if (Arrays.equals(name, new byte[] {'.', '.'})) {
                            sawDotDot = true;
                            continue;
                        }
                        for (byte c : name) {
                            if (c == '/' || c == 0) {
                                throw new CorruptImageException(ino.where() + ": directory entry name contains '/' or NUL");
                            }
                        }
                        Node child = node(nid);
                        if (child instanceof DirNode) {
                            if (!subdirs.add(nid)) {
                                throw new CorruptImageException(ino.where() + ": directory " + nid + " is listed twice");
                            }
                            Long parent = dirParent.putIfAbsent(nid, ino.nid);
                            if (parent != null && parent != ino.nid) {
                                throw new CorruptImageException(ino.where() + ": directory " + nid + " is linked from two places (a loop)");
                            }
                        }
                        if (type != 0 && type != dirFileType(((Base) child).ino.mode)) {
                            throw new CorruptImageException(ino.where() + ": entry '" + RawNames.display(name) + "' has file type " + type + " but its inode disagrees");
                        }
                        out.add(new Child(name, child));
                    }
                    remaining -= len;
                    blockIndex++;
                }
            }
            if (!sawDot || !sawDotDot) {
                throw new CorruptImageException(ino.where() + ": directory lacks '.' or '..'");
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ data streams

    /** FLAT_PLAIN / FLAT_INLINE data. */
    private final class FlatStream extends InputStream {
        private final Inode ino;
        private long pos;
        private final long fullEnd; // bytes stored in data blocks
        private final long tailOff;

        FlatStream(Inode ino) throws IOException {
            this.ino = ino;
            long nblocks = (ino.size + BLOCK_SIZE - 1) / BLOCK_SIZE;
            if (ino.layout == LAYOUT_FLAT_INLINE) {
                long tail = ino.size - (nblocks - 1) * BLOCK_SIZE;
                fullEnd = ino.size - tail;
                tailOff = ino.tailOffset();
                if (nblocks == 0 || tailOff % BLOCK_SIZE + tail > BLOCK_SIZE) {
                    throw new CorruptImageException(ino.where() + ": inline data crosses a block boundary");
                }
                if (tailOff + tail > imageSize) {
                    throw new CorruptImageException(ino.where() + ": inline data is outside the image");
                }
            } else {
                fullEnd = nblocks * BLOCK_SIZE;
                tailOff = -1;
            }
            long blocksNeeded = fullEnd / BLOCK_SIZE;
            if (blocksNeeded > 0 && (ino.iu + blocksNeeded) * BLOCK_SIZE > imageSize) {
                throw new CorruptImageException(ino.where() + ": data blocks " + ino.iu + "+" + blocksNeeded + " are outside the image");
            }
        }

        void skipTo(long p) {
            pos = p;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= ino.size) {
                return -1;
            }
            int n = (int) Math.min(len, ino.size - pos);
            long src;
            if (pos < fullEnd) {
                n = (int) Math.min(n, fullEnd - pos);
                src = ino.iu * BLOCK_SIZE + pos;
            } else {
                src = tailOff + (pos - fullEnd);
            }
            n = Math.min(n, 1 << 20);
            ByteBuffer bb = ByteBuffer.wrap(b, off, n);
            long p = src;
            while (bb.hasRemaining()) {
                int r = ch.read(bb, p);
                if (r < 0) {
                    throw new CorruptImageException(ino.where() + ": data ends early");
                }
                p += r;
            }
            pos += n;
            return n;
        }
    }

    // ------------------------------------------------------------------ compressed files

    private static final int KIND_PLAIN = 0;
    private static final int KIND_LZ4 = 1;
    private static final int KIND_INLINE_PLAIN = 2;
    private static final int KIND_INLINE_LZ4 = 3;
    private static final int KIND_FRAGMENT = 4;

    /**
     * The extent map of a compressed inode, as Linux 6.1's zmap.c derives it: full (legacy) or compact (2B/4B
     * packs) lcluster indexes, 4 KiB or big physical clusters (CBLKCNT in the first non-head lcluster), a tail
     * pcluster inlined after the indexes (ztailpacking), or a tail (or the whole file) kept in the packed inode
     * (fragments).
     */
    private final class ZMap {
        final Inode ino;
        final long[] starts; // extent starts; starts[n] = size
        final int[] kinds;
        final long[] addrs; // image offset (blocks, inline data) or offset in the packed inode (fragment)
        final int[] plens; // physical length in bytes (0 for fragments)
        final byte[] algs; // the algorithm of compressed extents (their head's nibble of h_algorithmtype)
        /** The last extent decoded, as one immutable value: the packed inode's map is read by many threads. */
        private volatile Decoded cache;

        ZMap(Inode ino) throws IOException {
            this.ino = ino;
            long size = ino.size;
            long hdr = (ino.tailOffset() + 7) & ~7L;
            ByteBuffer h = le(readAt(hdr, 8));
            int clusterbits = h.get(7) & 0xFF;
            if ((clusterbits & 0x80) != 0) {
                // the whole file is one fragment in the packed inode; the rest of the 8 bytes is its offset
                requireFragments();
                long fragOff = h.getLong(0) & Long.MAX_VALUE;
                checkFragment(fragOff, size);
                starts = new long[] {0, size};
                kinds = new int[] {KIND_FRAGMENT};
                addrs = new long[] {fragOff};
                plens = new int[] {0};
                algs = new byte[1];
                return;
            }
            int advise = h.getShort(4) & 0xFFFF;
            int algo = h.get(6) & 0xFF;
            int known = ADVISE_COMPACTED_2B | ADVISE_BIG_PCLUSTER_1 | ADVISE_BIG_PCLUSTER_2 | ADVISE_INLINE_PCLUSTER | ADVISE_FRAGMENT_PCLUSTER;
            if ((clusterbits & 0x7) != 0 || (advise & ~known) != 0) {
                throw new CorruptImageException(ino.where() + String.format(": unsupported compression header (advise 0x%x, clusterbits %d)", advise, clusterbits));
            }
            boolean compact = ino.layout == LAYOUT_COMPRESSED_COMPACT;
            boolean big1 = (advise & ADVISE_BIG_PCLUSTER_1) != 0;
            boolean big2 = (advise & ADVISE_BIG_PCLUSTER_2) != 0;
            boolean ztail = (advise & ADVISE_INLINE_PCLUSTER) != 0;
            boolean frag = (advise & ADVISE_FRAGMENT_PCLUSTER) != 0;
            if (compact && big1 != big2) {
                throw new CorruptImageException(ino.where() + ": big pcluster flags of head 1 and head 2 differ (compact indexes)");
            }
            if ((big1 || big2) && (incompat & FEATURE_INCOMPAT_BIG_PCLUSTER) == 0) {
                throw new CorruptImageException(ino.where() + ": big pclusters without the big_pcluster feature");
            }
            if (ztail && (incompat & FEATURE_INCOMPAT_ZTAILPACKING) == 0) {
                throw new CorruptImageException(ino.where() + ": inline pcluster without the ztailpacking feature");
            }
            if (frag) {
                requireFragments();
            }
            if (ztail && frag) {
                throw new CorruptImageException(ino.where() + ": both an inline tail pcluster and a fragment");
            }
            if ((incompat & FEATURE_INCOMPAT_ZERO_PADDING) == 0) {
                throw new CorruptImageException(ino.where() + ": compressed data without the lz4_0padding feature is not supported");
            }
            long total = (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
            // every lcluster has at least a 2-byte index, all inside the image
            if (total == 0 || total * 2 > imageSize) {
                throw new CorruptImageException(ino.where() + ": " + total + " lcluster indexes cannot fit in the image");
            }
            int n = (int) total;
            int[] type = new int[n];
            int[] lo = new int[n]; // clusterofs of heads, delta[0] of non-heads
            int[] cblk = new int[n]; // CBLKCNT of non-heads, or -1
            long[] pblk = new long[n];
            long idataOff;
            if (!compact) {
                long base = hdr + LEGACY_MAP_HEADER_SIZE;
                ByteBuffer b = le(readAt(base, n * LCLUSTER_INDEX_SIZE));
                for (int lcn = 0; lcn < n; lcn++) {
                    int p = lcn * LCLUSTER_INDEX_SIZE;
                    type[lcn] = b.getShort(p) & 0x3;
                    cblk[lcn] = -1;
                    if (type[lcn] == CLUSTER_TYPE_NONHEAD) {
                        int d0 = b.getShort(p + 4) & 0xFFFF;
                        if ((d0 & D0_CBLKCNT) != 0) {
                            if (!big1 && !big2) {
                                throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " has a compressed block count but no big pclusters");
                            }
                            cblk[lcn] = d0 & ~D0_CBLKCNT;
                            d0 = 1;
                        }
                        lo[lcn] = d0;
                    } else {
                        lo[lcn] = b.getShort(p + 2) & 0xFFFF;
                        pblk[lcn] = b.getInt(p + 4) & 0xFFFFFFFFL;
                    }
                }
                idataOff = base + total * LCLUSTER_INDEX_SIZE;
            } else {
                long ebase = hdr + 8;
                int initial4b = (int) ((32 - ebase % 32) / 4);
                if (initial4b == 32 / 4) {
                    initial4b = 0;
                }
                int compacted2b = (advise & ADVISE_COMPACTED_2B) != 0 && initial4b < n ? (n - initial4b) / 16 * 16 : 0;
                long lastPos = CompactIndex.pos(ebase, initial4b, compacted2b, n - 1);
                int lastShift = CompactIndex.shift(initial4b, compacted2b, n - 1);
                int lastPack = lastShift == 2 ? 8 : 32;
                long areaEnd = lastPos / lastPack * lastPack + lastPack;
                if (areaEnd - ebase > imageSize) {
                    throw new CorruptImageException(ino.where() + ": lcluster indexes cannot fit in the image");
                }
                byte[] area = readAt(ebase, (int) (areaEnd - ebase));
                for (int lcn = 0; lcn < n; lcn++) {
                    CompactIndex.unpack(area, ebase, CompactIndex.pos(ebase, initial4b, compacted2b, lcn), CompactIndex.shift(initial4b, compacted2b, lcn),
                            big1, lcn, type, lo, cblk, pblk);
                }
                idataOff = areaEnd;
            }
            // heads to extents
            List<Integer> heads = new ArrayList<>();
            int headLcn = -1;
            long eofHead = -1;
            for (int lcn = 0; lcn < n; lcn++) {
                if (type[lcn] == CLUSTER_TYPE_NONHEAD) {
                    if (lcn == 0) {
                        throw new CorruptImageException(ino.where() + ": first lcluster is not a head");
                    }
                    if (lo[lcn] < 1 || lcn - lo[lcn] < headLcn) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " looks back " + lo[lcn] + " lclusters, past its head");
                    }
                } else {
                    if (lo[lcn] >= BLOCK_SIZE || (lcn == 0 && lo[lcn] != 0)) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " has cluster offset " + lo[lcn]);
                    }
                    headLcn = lcn;
                    if ((long) lcn * BLOCK_SIZE + lo[lcn] >= size) {
                        // mkfs.erofs ends the last extent with a head at or after EOF in the last lcluster
                        if (lcn != n - 1) {
                            throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " starts an extent past the end of the file");
                        }
                        eofHead = (long) lcn * BLOCK_SIZE + lo[lcn];
                        continue;
                    }
                    heads.add(lcn);
                }
            }
            int ne = heads.size();
            starts = new long[ne + 1];
            kinds = new int[ne];
            addrs = new long[ne];
            plens = new int[ne];
            algs = new byte[ne];
            for (int k = 0; k < ne; k++) {
                int lcn = heads.get(k);
                starts[k] = (long) lcn * BLOCK_SIZE + lo[lcn];
            }
            starts[ne] = size;
            int idataSize = h.getShort(2) & 0xFFFF;
            for (int k = 0; k < ne; k++) {
                int lcn = heads.get(k);
                int t = type[lcn];
                long llen = starts[k + 1] - starts[k];
                if (llen <= 0) {
                    throw new CorruptImageException(ino.where() + ": extent " + k + " has length " + llen);
                }
                boolean tail = k == ne - 1;
                if (tail && ztail) {
                    if (idataSize == 0 || idataOff % BLOCK_SIZE + idataSize > BLOCK_SIZE || idataOff + idataSize > imageSize) {
                        throw new CorruptImageException(ino.where() + ": inline tail pcluster of " + idataSize + " bytes at " + idataOff + " crosses a block or the image end");
                    }
                    kinds[k] = t == CLUSTER_TYPE_PLAIN ? KIND_INLINE_PLAIN : KIND_INLINE_LZ4;
                    addrs[k] = idataOff;
                    plens[k] = idataSize;
                } else if (tail && frag) {
                    long fragOff = (h.getInt(0) & 0xFFFFFFFFL) | (compact ? 0 : pblk[lcn] << 32);
                    checkFragment(fragOff, llen);
                    kinds[k] = KIND_FRAGMENT;
                    addrs[k] = fragOff;
                    continue;
                } else {
                    int blocks = 1;
                    boolean big = t == CLUSTER_TYPE_HEAD ? big1 : t == CLUSTER_TYPE_HEAD2 && big2;
                    if (big) {
                        if (lcn + 1 >= n) {
                            throw new CorruptImageException(ino.where() + ": big pcluster head in the last lcluster " + lcn + " (no block count)");
                        }
                        if (type[lcn + 1] == CLUSTER_TYPE_NONHEAD) {
                            if (cblk[lcn + 1] < 1) {
                                throw new CorruptImageException(ino.where() + ": no compressed block count at lcluster " + (lcn + 1));
                            }
                            blocks = cblk[lcn + 1];
                        }
                    }
                    kinds[k] = t == CLUSTER_TYPE_PLAIN ? KIND_PLAIN : KIND_LZ4;
                    addrs[k] = pblk[lcn] * BLOCK_SIZE;
                    plens[k] = blocks * BLOCK_SIZE;
                    if (pblk[lcn] + blocks > imageSize / BLOCK_SIZE) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " points to blocks " + pblk[lcn] + "+" + blocks + " outside the image");
                    }
                }
                if (t != CLUSTER_TYPE_PLAIN) {
                    int a = t == CLUSTER_TYPE_HEAD ? algo & 0xF : algo >>> 4;
                    if (a >= ErofsAlgorithm.values().length || ((algBits >>> a) & 1) == 0) {
                        throw new CorruptImageException(ino.where() + ": compression algorithm " + a + " is not in available_compr_algs (0x"
                                + Integer.toHexString(algBits) + ")");
                    }
                    algs[k] = (byte) a;
                    // LZ4 expands at most 255-fold; the other algorithms are bounded by the extent size only
                    if ((a == COMPRESSION_LZ4 && llen > (long) plens[k] * 256 + BLOCK_SIZE) || llen > MAX_EXTENT_BYTES) {
                        throw new CorruptImageException(ino.where() + ": extent " + k + " decodes to " + llen + " bytes from " + plens[k]);
                    }
                } else {
                    // Linux (zmap.c) measures the last extent up to the end of the lcluster holding EOF (to EOF when
                    // the inode has an inline tail and the extent starts in the last lcluster) and refuses an
                    // uncompressed extent longer than its pcluster (EFSCORRUPTED)
                    long klen = llen;
                    if (tail) {
                        klen = eofHead >= 0 ? eofHead - starts[k] : ztail && lcn == n - 1 ? size - starts[k] : total * BLOCK_SIZE - starts[k];
                    }
                    if (klen > plens[k]) {
                        throw new CorruptImageException(ino.where() + ": uncompressed extent " + k + " at " + starts[k] + " maps " + klen
                                + " bytes but holds " + plens[k]);
                    }
                }
            }
        }

        private void requireFragments() throws IOException {
            if ((incompat & FEATURE_INCOMPAT_FRAGMENTS) == 0 || packedNid <= 0) {
                throw new CorruptImageException(ino.where() + ": fragment without the fragments feature or a packed inode");
            }
            if (ino.nid == packedNid) {
                throw new CorruptImageException(ino.where() + ": the packed inode refers to itself");
            }
        }

        private void checkFragment(long off, long len) throws IOException {
            long psize = packed().ino.size;
            if (off < 0 || len > psize || off > psize - len) {
                throw new CorruptImageException(ino.where() + ": fragment of " + len + " bytes at " + off + " is outside the packed inode (" + psize + " bytes)");
            }
        }

        int extentAt(long pos) {
            int k = Arrays.binarySearch(starts, pos);
            return k >= 0 ? k : -k - 2;
        }

        byte[] decode(int k) throws IOException {
            Decoded c = cache;
            if (c != null && c.extent == k) {
                return c.data;
            }
            int llen = (int) (starts[k + 1] - starts[k]);
            byte[] out;
            switch (kinds[k]) {
                case KIND_PLAIN, KIND_INLINE_PLAIN -> out = readAt(addrs[k], llen);
                case KIND_LZ4, KIND_INLINE_LZ4 -> {
                    byte[] src = readAt(addrs[k], plens[k]);
                    int pad = (int) Math.min(plens[k], BLOCK_SIZE - addrs[k] % BLOCK_SIZE);
                    int z = 0;
                    while (z < pad && src[z] == 0) {
                        z++;
                    }
                    if (z == pad) {
                        throw new CorruptImageException(ino.where() + ": compressed extent " + k + " at " + addrs[k] + " starts with a block of zeros");
                    }
                    out = new byte[llen];
                    try {
                        if (algs[k] == COMPRESSION_LZ4) {
                            Lz4Decompressor.decompress(src, z, src.length - z, out, 0, llen);
                        } else {
                            decoder(algs[k]).decode(src, z, src.length - z, out, 0, llen);
                        }
                    } catch (Lz4Decompressor.Lz4FormatException e) {
                        throw new CorruptImageException(ino.where() + ": extent " + k + " (at " + addrs[k] + "): " + e.getMessage());
                    } catch (CorruptImageException e) {
                        throw new CorruptImageException(ino.where() + ": extent " + k + " (at " + addrs[k] + "): " + e.detail());
                    }
                }
                default -> throw new IllegalStateException("fragments are read, not decoded");
            }
            cache = new Decoded(k, out);
            return out;
        }

        /** Reads up to {@code len} bytes at {@code pos} (within one extent); returns the count. */
        int read(long pos, byte[] b, int off, int len) throws IOException {
            int k = extentAt(pos);
            int n = (int) Math.min(len, starts[k + 1] - pos);
            if (kinds[k] == KIND_FRAGMENT) {
                return packed().read(addrs[k] + (pos - starts[k]), b, off, n);
            }
            System.arraycopy(decode(k), (int) (pos - starts[k]), b, off, n);
            return n;
        }
    }

    /** An extent's decoded bytes (never written after decoding). */
    private record Decoded(int extent, byte[] data) {}

    /** Random access to a regular file's data (the packed inode's). */
    private final class RandomData {
        final Inode ino;
        private final ZMap zmap;

        RandomData(Inode ino) throws IOException {
            this.ino = ino;
            this.zmap = ino.layout == LAYOUT_COMPRESSED_FULL || ino.layout == LAYOUT_COMPRESSED_COMPACT ? new ZMap(ino) : null;
            if (zmap == null && ino.layout != LAYOUT_FLAT_PLAIN && ino.layout != LAYOUT_FLAT_INLINE) {
                throw new CorruptImageException(ino.where() + ": unsupported data layout " + ino.layout);
            }
        }

        /** Reads exactly {@code len} bytes at {@code pos}. */
        int read(long pos, byte[] b, int off, int len) throws IOException {
            if (pos < 0 || pos + len > ino.size) {
                throw new CorruptImageException(ino.where() + ": read past its end");
            }
            int done = 0;
            while (done < len) {
                int n;
                if (zmap != null) {
                    n = zmap.read(pos + done, b, off + done, len - done);
                } else {
                    try (FlatStream fs = new FlatStream(ino)) {
                        fs.skipTo(pos + done);
                        n = fs.read(b, off + done, len - done);
                    }
                }
                if (n <= 0) {
                    throw new CorruptImageException(ino.where() + ": data ends early");
                }
                done += n;
            }
            return len;
        }
    }

    /** Set up once, on first use, by whichever thread comes first. */
    private volatile RandomData packedData;

    private RandomData packed() throws IOException {
        RandomData d = packedData;
        if (d != null) {
            return d;
        }
        synchronized (this) {
            if (packedData == null) {
                Inode p = new Inode(packedNid);
                if ((p.mode & S_IFMT) != S_IFREG) {
                    throw new CorruptImageException("packed inode " + packedNid + " is not a regular file");
                }
                packedData = new RandomData(p);
            }
            return packedData;
        }
    }

    /** Data of a compressed inode, extent after extent. */
    private final class ZStream extends InputStream {
        private final ZMap map;
        private long pos;

        ZStream(Inode ino) throws IOException {
            this.map = new ZMap(ino);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= map.ino.size) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            int n = map.read(pos, b, off, (int) Math.min(len, map.ino.size - pos));
            pos += n;
            return n;
        }
    }
}
