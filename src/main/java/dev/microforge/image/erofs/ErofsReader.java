package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsFormat.*;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageFs;
import dev.microforge.image.lz4.Lz4Decompressor;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Reads EROFS images (what {@link ErofsWriter} writes, and mkfs.erofs images that use the same features:
 * plain and inline data, LZ4 with full lcluster indexes, 4 KiB blocks). Every offset, length and count is
 * checked against the image size before it is used, directories may not form loops, and decompressed
 * extents are bounded, so a corrupt image raises {@link CorruptImageException}: it never hangs and never
 * allocates more than the image could justify.
 */
public final class ErofsReader implements ImageFs {
    /** LZ4 expands at most ~255x: an extent of one 4 KiB pcluster cannot decode to more than this. */
    static final int MAX_EXTENT = BLOCK_SIZE * 256;
    private static final int SUPPORTED_INCOMPAT = FEATURE_INCOMPAT_ZERO_PADDING;

    private final FileChannel ch;
    private final long imageSize;
    private final long metaBase;
    private final long rootNid;
    private final long buildTime;
    private final int incompat;
    private final Map<String, String> summary = new LinkedHashMap<>();
    /** Directory nid to the nid of the one directory that lists it (loop detection). */
    private final Map<Long, Long> dirParent = new HashMap<>();

    private ErofsReader(FileChannel ch) throws IOException {
        this.ch = ch;
        this.imageSize = ch.size();
        if (imageSize < BLOCK_SIZE) {
            throw new CorruptImageException("erofs: image is " + imageSize + " bytes, smaller than one block");
        }
        byte[] block0 = readAt(0, BLOCK_SIZE);
        ByteBuffer b = ByteBuffer.wrap(block0).order(ByteOrder.LITTLE_ENDIAN);
        int s = SUPER_OFFSET;
        if (b.getInt(s) != MAGIC) {
            throw new CorruptImageException("erofs: bad superblock magic at offset 1024");
        }
        int compat = b.getInt(s + 8);
        if (b.get(s + 12) != BLOCK_BITS) {
            throw new CorruptImageException("erofs: block size 2^" + b.get(s + 12) + " is not supported (only 4096)");
        }
        if ((compat & FEATURE_COMPAT_SB_CHKSUM) != 0) {
            int stored = b.getInt(s + 4);
            b.putInt(s + 4, 0);
            int computed = superblockChecksum(block0);
            b.putInt(s + 4, stored);
            if (stored != computed) {
                throw new CorruptImageException(String.format("erofs: superblock checksum mismatch (stored %08x, computed %08x)", stored, computed));
            }
        }
        if ((b.get(s + 13) & 0xFF) != 0) {
            throw new CorruptImageException("erofs: superblock extension slots are not supported");
        }
        incompat = b.getInt(s + 80);
        if ((incompat & ~SUPPORTED_INCOMPAT) != 0) {
            throw new CorruptImageException(String.format("erofs: unsupported incompatible features 0x%x", incompat & ~SUPPORTED_INCOMPAT));
        }
        rootNid = b.getShort(s + 14) & 0xFFFF;
        long inodes = b.getLong(s + 16);
        buildTime = b.getLong(s + 24);
        long blocks = b.getInt(s + 36) & 0xFFFFFFFFL;
        long metaBlk = b.getInt(s + 40) & 0xFFFFFFFFL;
        if (blocks * BLOCK_SIZE > imageSize) {
            throw new CorruptImageException("erofs: superblock says " + blocks + " blocks but the image has " + imageSize + " bytes");
        }
        if (metaBlk >= blocks) {
            throw new CorruptImageException("erofs: metadata start block " + metaBlk + " is beyond the " + blocks + " blocks");
        }
        metaBase = metaBlk * BLOCK_SIZE;
        ByteBuffer ub = ByteBuffer.wrap(block0, s + 48, 16);
        UUID uuid = new UUID(ub.getLong(), ub.getLong());
        int ll = 0;
        while (ll < 16 && block0[s + 64 + ll] != 0) {
            ll++;
        }
        summary.put("compression", (incompat & FEATURE_INCOMPAT_ZERO_PADDING) != 0 ? "lz4" : "none");
        summary.put("label", new String(block0, s + 64, ll, StandardCharsets.UTF_8));
        summary.put("uuid", uuid.toString());
        summary.put("blocks", Long.toString(blocks));
        summary.put("block size", Integer.toString(BLOCK_SIZE));
        summary.put("inodes", Long.toString(inodes));
        summary.put("root nid", Long.toString(rootNid));
        summary.put("metadata start block", Long.toString(metaBlk));
        summary.put("build time", Long.toString(buildTime));
        summary.put("features", ((compat & FEATURE_COMPAT_SB_CHKSUM) != 0 ? "sb_csum" : "")
                + ((incompat & FEATURE_INCOMPAT_ZERO_PADDING) != 0 ? " lz4_0padding" : ""));
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
            throw new CorruptImageException("erofs: root inode " + rootNid + " is not a directory");
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
            throw new CorruptImageException("erofs: read of " + len + " bytes at offset " + off + " is outside the image (" + imageSize + " bytes)");
        }
        byte[] buf = new byte[len];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        long pos = off;
        while (bb.hasRemaining()) {
            int n = ch.read(bb, pos);
            if (n < 0) {
                throw new CorruptImageException("erofs: unexpected end of image at " + pos);
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
                throw new CorruptImageException("erofs: inode nid " + nid + " is outside the image");
            }
            off = metaBase + nid * 32;
            byte[] head = readAt(off, Math.min(INODE_EXTENDED_SIZE, (int) Math.min(INODE_EXTENDED_SIZE, imageSize - off)));
            if (head.length < INODE_COMPACT_SIZE) {
                throw new CorruptImageException("erofs: inode " + nid + " is truncated");
            }
            ByteBuffer b = le(head);
            int format = b.getShort(0) & 0xFFFF;
            boolean ext = (format & 1) != 0;
            layout = (format >>> 1) & 0x7;
            if ((format & ~0xF) != 0) {
                throw new CorruptImageException("erofs: inode " + nid + " has unknown format bits 0x" + Integer.toHexString(format));
            }
            int icount = b.getShort(2) & 0xFFFF;
            xattrSize = icount == 0 ? 0 : 12 + 4 * (icount - 1);
            mode = b.getShort(4) & 0xFFFF;
            if (ext) {
                if (head.length < INODE_EXTENDED_SIZE) {
                    throw new CorruptImageException("erofs: inode " + nid + " is truncated");
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
                throw new CorruptImageException("erofs: inode " + nid + " has a negative size");
            }
        }

        String where() {
            return "erofs: inode " + nid;
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
                case LAYOUT_COMPRESSED_FULL -> new CompressedStream(this);
                case LAYOUT_COMPRESSED_COMPACT -> throw new CorruptImageException(where() + ": compact lcluster indexes are not supported by this reader");
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
                yield new ErofsLink(ino, ino.readAll(BLOCK_SIZE));
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

    /** LZ4 data with full (legacy) lcluster indexes. */
    private final class CompressedStream extends InputStream {
        private final Inode ino;
        private final long[] starts;
        private final long[] blkaddrs;
        private final boolean[] plain;
        private int next; // next extent to decode
        private byte[] buf = new byte[0];
        private int bufPos;

        CompressedStream(Inode ino) throws IOException {
            this.ino = ino;
            if ((incompat & FEATURE_INCOMPAT_ZERO_PADDING) == 0) {
                throw new CorruptImageException(ino.where() + ": compressed data without the lz4_0padding feature is not supported");
            }
            long hdr = (ino.tailOffset() + 7) & ~7L;
            ByteBuffer h = le(readAt(hdr, 8));
            int advise = h.getShort(4) & 0xFFFF;
            int algo = h.get(6) & 0xFF;
            int cbits = h.get(7) & 0xFF;
            if (advise != 0 || (algo & 0xF) != COMPRESSION_LZ4 || cbits != 0) {
                throw new CorruptImageException(ino.where() + String.format(": unsupported compression header (advise 0x%x, algorithm %d, clusterbits %d)", advise, algo, cbits));
            }
            long nIdx = (ino.size + BLOCK_SIZE - 1) / BLOCK_SIZE;
            if (nIdx * LCLUSTER_INDEX_SIZE > imageSize) {
                throw new CorruptImageException(ino.where() + ": " + nIdx + " lcluster indexes cannot fit in the image");
            }
            byte[] idx = readAt(hdr + LEGACY_MAP_HEADER_SIZE, (int) (nIdx * LCLUSTER_INDEX_SIZE));
            ByteBuffer b = le(idx);
            List<long[]> ext = new ArrayList<>();
            for (int lcn = 0; lcn < nIdx; lcn++) {
                int p = lcn * LCLUSTER_INDEX_SIZE;
                int type = b.getShort(p) & 0x3;
                int clusterofs = b.getShort(p + 2) & 0xFFFF;
                if (type == CLUSTER_TYPE_PLAIN || type == CLUSTER_TYPE_HEAD) {
                    if (clusterofs >= BLOCK_SIZE) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " has cluster offset " + clusterofs);
                    }
                    long start = (long) lcn * BLOCK_SIZE + clusterofs;
                    if (start >= ino.size || (lcn == 0 && clusterofs != 0)) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " starts an extent at " + start);
                    }
                    long blk = b.getInt(p + 4) & 0xFFFFFFFFL;
                    if ((blk + 1) * BLOCK_SIZE > imageSize) {
                        throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " points to block " + blk + " outside the image");
                    }
                    ext.add(new long[] {start, blk, type == CLUSTER_TYPE_PLAIN ? 1 : 0});
                } else if (type == CLUSTER_TYPE_NONHEAD) {
                    if (lcn == 0) {
                        throw new CorruptImageException(ino.where() + ": first lcluster is not a head");
                    }
                } else {
                    throw new CorruptImageException(ino.where() + ": lcluster " + lcn + " has unsupported type " + type);
                }
            }
            if (ino.size > 0 && ext.isEmpty()) {
                throw new CorruptImageException(ino.where() + ": no extents");
            }
            starts = new long[ext.size() + 1];
            blkaddrs = new long[ext.size()];
            plain = new boolean[ext.size()];
            for (int i = 0; i < ext.size(); i++) {
                starts[i] = ext.get(i)[0];
                blkaddrs[i] = ext.get(i)[1];
                plain[i] = ext.get(i)[2] == 1;
            }
            starts[ext.size()] = ino.size;
            for (int i = 0; i < ext.size(); i++) {
                long len = starts[i + 1] - starts[i];
                if (len <= 0 || len > (plain[i] ? BLOCK_SIZE : MAX_EXTENT)) {
                    throw new CorruptImageException(ino.where() + ": extent " + i + " has length " + len);
                }
            }
            // Linux (zmap.c) measures the last extent up to the end of the lcluster holding EOF, and refuses an
            // uncompressed extent longer than its one block (EFSCORRUPTED): a last plain extent must not cross
            // an lcluster boundary unless it starts on one.
            int last = ext.size() - 1;
            if (last >= 0 && plain[last]) {
                long klen = (ino.size + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE - starts[last];
                if (klen > BLOCK_SIZE) {
                    throw new CorruptImageException(ino.where() + ": last uncompressed extent starts at " + starts[last]
                            + " and reaches " + klen + " bytes to the end of its lcluster (more than one block)");
                }
            }
        }

        private void fill() throws IOException {
            int i = next++;
            int len = (int) (starts[i + 1] - starts[i]);
            byte[] blk = readAt(blkaddrs[i] * BLOCK_SIZE, BLOCK_SIZE);
            byte[] outBuf = new byte[len];
            if (plain[i]) {
                System.arraycopy(blk, 0, outBuf, 0, len);
            } else {
                int z = 0;
                while (z < BLOCK_SIZE && blk[z] == 0) {
                    z++;
                }
                if (z == BLOCK_SIZE) {
                    throw new CorruptImageException(ino.where() + ": compressed block " + blkaddrs[i] + " is empty");
                }
                try {
                    Lz4Decompressor.decompress(blk, z, BLOCK_SIZE - z, outBuf, 0, len);
                } catch (Lz4Decompressor.Lz4FormatException e) {
                    throw new CorruptImageException(ino.where() + ": extent " + i + " (block " + blkaddrs[i] + "): " + e.getMessage());
                }
            }
            buf = outBuf;
            bufPos = 0;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (bufPos >= buf.length) {
                if (next >= blkaddrs.length) {
                    return -1;
                }
                fill();
            }
            int n = Math.min(len, buf.length - bufPos);
            System.arraycopy(buf, bufPos, b, off, n);
            bufPos += n;
            return n;
        }
    }
}
