package dev.microforge.image.squashfs;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageFs;
import dev.microforge.image.codec.Codec;
import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads SquashFS 4.0 images (ours and mksquashfs'/gensquashfs'). Safe for concurrent reads: nodes are immutable,
 * the metadata and fragment caches are locked, decompressors are per thread, the directory-parent map is
 * concurrent, and every image read is positional. Every offset, size and count
 * is checked against the image before it is used; corrupt images raise {@link CorruptImageException};
 * allocations are bounded by the block size, 8 KiB metadata blocks, or data actually present in the image.
 * A directory inode reachable from two places (a cycle or a shared directory) is rejected.
 */
public final class SquashfsReader implements ImageFs {
    /** Random access to the image bytes. */
    interface Source extends AutoCloseable {
        long size();

        void read(long pos, byte[] dst, int off, int len) throws IOException;

        @Override
        void close() throws IOException;
    }

    private final Source src;
    final int inodes;
    final long mtime;
    final int blockSize;
    final int blockLog;
    final int fragCount;
    final int compressor;
    final int flags;
    final int idCount;
    final long rootRef;
    final long bytesUsed;
    final long idTableStart;
    final long xattrTableStart;
    final long inodeTable;
    final long dirTable;
    final long fragTableStart;
    final long exportTableStart;
    private final long dirTableEnd;
    private final int[] ids;
    private final long[] fragIndex;
    private final Codec codec;
    private final ThreadLocal<Codec.Decompressor> decompressor;
    private final Map<Long, Meta> metaCache = new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Meta> e) {
            return size() > 256;
        }
    };
    private final Map<Long, Long> dirParents = new ConcurrentHashMap<>();

    /** One decompressed metadata block and where the next one starts. */
    private record Meta(byte[] data, int len, long next) {}

    private SquashfsReader(Source src) throws IOException {
        this.src = src;
        if (src.size() < SquashfsOnDisk.SUPERBLOCK_SIZE) {
            throw corrupt("file is shorter than a superblock (" + src.size() + " bytes)");
        }
        byte[] raw = new byte[Superblock.SIZE];
        src.read(0, raw, 0, raw.length);
        Superblock sb = Superblock.decode(raw);
        inodes = sb.inodeCount();
        mtime = sb.mtime();
        blockSize = sb.blockSize();
        fragCount = sb.fragmentCount();
        compressor = sb.compressor();
        blockLog = sb.blockLog();
        flags = sb.flags();
        idCount = sb.idCount();
        int major = sb.versionMajor();
        int minor = sb.versionMinor();
        rootRef = sb.rootInodeRef();
        bytesUsed = sb.bytesUsed();
        idTableStart = sb.idTableStart();
        xattrTableStart = sb.xattrTableStart();
        inodeTable = sb.inodeTableStart();
        dirTable = sb.directoryTableStart();
        fragTableStart = sb.fragmentTableStart();
        exportTableStart = sb.exportTableStart();
        if (major != 4 || minor != 0) {
            throw corrupt("unsupported SquashFS version " + major + "." + minor + " (only 4.0)");
        }
        if (blockSize < 4096 || blockSize > 1 << 20 || Integer.bitCount(blockSize) != 1) {
            throw corrupt("invalid block size " + blockSize);
        }
        if (1 << blockLog != blockSize) {
            throw corrupt("block log " + blockLog + " does not match block size " + blockSize);
        }
        if (bytesUsed < SquashfsOnDisk.SUPERBLOCK_SIZE || bytesUsed > src.size()) {
            throw corrupt("bytes used " + bytesUsed + " is outside the file (" + src.size() + " bytes)");
        }
        String cname = switch (compressor) {
            case SquashfsOnDisk.GZIP -> "gzip";
            case SquashfsOnDisk.XZ -> "xz";
            case SquashfsOnDisk.LZ4 -> "lz4";
            case SquashfsOnDisk.ZSTD -> "zstd";
            default -> throw corrupt("unsupported compressor " + SquashfsOnDisk.compressorName(compressor));
        };
        codec = Codec.named(cname);
        decompressor = ThreadLocal.withInitial(codec::newDecompressor);
        if (Long.compareUnsigned(inodeTable, SquashfsOnDisk.SUPERBLOCK_SIZE) < 0 || Long.compareUnsigned(inodeTable, dirTable) >= 0
                || Long.compareUnsigned(dirTable, bytesUsed) >= 0) {
            throw corrupt("inode table (" + inodeTable + ") and directory table (" + dirTable + ") are out of order");
        }
        if (idCount == 0) {
            throw corrupt("empty id table");
        }
        // the tables after the directory table: the first of their metadata blocks ends the directory table
        long end = bytesUsed;
        long[] idIndex = readIndex(idTableStart, ((long) idCount * 4 + SquashfsOnDisk.META_SIZE - 1) / SquashfsOnDisk.META_SIZE, "id table");
        end = Math.min(end, idIndex[0]);
        if (fragCount == 0) {
            fragIndex = null;
        } else {
            fragIndex = readIndex(fragTableStart, ((fragCount & 0xffffffffL) * 16 + SquashfsOnDisk.META_SIZE - 1) / SquashfsOnDisk.META_SIZE, "fragment table");
            end = Math.min(end, fragIndex[0]);
        }
        if (exportTableStart != SquashfsOnDisk.INVALID) {
            long[] ex = readIndex(exportTableStart, ((inodes & 0xffffffffL) * 8 + SquashfsOnDisk.META_SIZE - 1) / SquashfsOnDisk.META_SIZE, "export table");
            end = Math.min(end, ex[0]);
        }
        if (xattrTableStart != SquashfsOnDisk.INVALID) {
            if (Long.compareUnsigned(xattrTableStart, bytesUsed) >= 0) {
                throw corrupt("xattr table start " + xattrTableStart + " is outside the image");
            }
            end = Math.min(end, xattrTableStart);
        }
        if (end < dirTable) {
            throw corrupt("lookup tables overlap the directory table");
        }
        dirTableEnd = end;
        ids = new int[idCount];
        Cursor c = new Cursor(idIndex[0], bytesUsed, 0);
        byte[] four = new byte[4];
        for (int i = 0; i < idCount; i++) {
            if (i % 2048 == 0) {
                c = new Cursor(idIndex[i / 2048], bytesUsed, 0);
            }
            c.read(four, 4);
            ids[i] = SquashfsOnDisk.getInt(four, 0);
        }
        if ((rootRef >>> 16) >= dirTable - inodeTable || (rootRef & 0xffff) >= SquashfsOnDisk.META_SIZE) {
            throw corrupt("root inode reference " + Long.toHexString(rootRef) + " is outside the inode table");
        }
    }

    public static SquashfsReader open(Path image) throws IOException {
        FileChannel ch = FileChannel.open(image, StandardOpenOption.READ);
        try {
            return new SquashfsReader(new ChannelSource(ch));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Reads an image held in memory (tests, fuzzing). */
    public static SquashfsReader open(byte[] image) throws IOException {
        return new SquashfsReader(new BytesSource(image));
    }

    private CorruptImageException corrupt(String what) {
        return new CorruptImageException(what);
    }

    private long[] readIndex(long start, long count, String what) throws IOException {
        if (count <= 0 || Long.compareUnsigned(start, bytesUsed) >= 0 || count > (bytesUsed - start) / 8) {
            throw corrupt(what + " index at " + start + " is outside the image");
        }
        byte[] b = new byte[(int) (count * 8)];
        src.read(start, b, 0, b.length);
        long[] r = new long[(int) count];
        for (int i = 0; i < count; i++) {
            r[i] = SquashfsOnDisk.getLong(b, i * 8);
            if (Long.compareUnsigned(r[i], dirTable) < 0 || Long.compareUnsigned(r[i], start) >= 0) {
                throw corrupt(what + " block " + i + " at " + r[i] + " is outside its table");
            }
        }
        return r;
    }

    @Override
    public String type() {
        return "squashfs";
    }

    @Override
    public Map<String, String> summary() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("compression", SquashfsOnDisk.compressorName(compressor));
        m.put("block size", Integer.toString(blockSize));
        m.put("inodes", Integer.toUnsignedString(inodes));
        m.put("fragments", Integer.toUnsignedString(fragCount));
        m.put("ids", Integer.toString(idCount));
        m.put("bytes used", Long.toString(bytesUsed));
        m.put("mtime", Long.toString(mtime));
        m.put("flags", String.format("0x%04x", flags));
        m.put("inode table", Long.toString(inodeTable));
        m.put("directory table", Long.toString(dirTable));
        m.put("fragment table", fragTableStart == SquashfsOnDisk.INVALID ? "none" : Long.toString(fragTableStart));
        m.put("id table", Long.toString(idTableStart));
        m.put("export table", exportTableStart == SquashfsOnDisk.INVALID ? "none" : Long.toString(exportTableStart));
        return m;
    }

    @Override
    public Node root() throws IOException {
        Node n = inode(rootRef);
        if (!(n instanceof DirNode)) {
            throw corrupt("root inode is not a directory");
        }
        dirParents.putIfAbsent(rootRef, -1L);
        if (dirParents.get(rootRef) != -1L) {
            throw corrupt("root directory is also a subdirectory");
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        src.close();
    }

    // ---- metadata ----

    private Meta meta(long pos, long limit) throws IOException {
        synchronized (metaCache) {
            Meta m = metaCache.get(pos);
            if (m != null) {
                return m;
            }
        }
        if (pos < SquashfsOnDisk.SUPERBLOCK_SIZE || pos + 2 > limit) {
            throw corrupt("metadata block at " + pos + " is outside its table");
        }
        byte[] h = new byte[2];
        src.read(pos, h, 0, 2);
        int hdr = SquashfsOnDisk.getShort(h, 0);
        int len = hdr & 0x7fff;
        boolean raw = (hdr & SquashfsOnDisk.META_UNCOMPRESSED) != 0;
        if (len == 0 || len > SquashfsOnDisk.META_SIZE || pos + 2 + len > limit) {
            throw corrupt("metadata block at " + pos + " has invalid size " + len);
        }
        byte[] disk = new byte[len];
        src.read(pos + 2, disk, 0, len);
        byte[] data;
        int n;
        if (raw) {
            data = disk;
            n = len;
        } else {
            data = new byte[SquashfsOnDisk.META_SIZE];
            try {
                n = decompressor.get().decompress(disk, 0, len, data, 0, SquashfsOnDisk.META_SIZE);
            } catch (CorruptImageException e) {
                throw corrupt("metadata block at " + pos + ": " + e.detail());
            }
            if (n == 0) {
                throw corrupt("metadata block at " + pos + " is empty");
            }
        }
        Meta m = new Meta(data, n, pos + 2 + len);
        synchronized (metaCache) {
            metaCache.put(pos, m);
        }
        return m;
    }

    /** Reads a metadata stream from (block, offset), crossing block boundaries, never past {@code limit}. */
    private final class Cursor {
        private final long limit;
        private long block;
        private int offset;
        private Meta cur;

        Cursor(long block, long limit, int offset) throws IOException {
            this.block = block;
            this.limit = limit;
            this.offset = offset;
            this.cur = meta(block, limit);
            if (offset > cur.len) {
                throw corrupt("offset " + offset + " beyond the metadata block at " + block);
            }
        }

        void read(byte[] dst, int len) throws IOException {
            int done = 0;
            while (done < len) {
                if (offset == cur.len) {
                    block = cur.next;
                    cur = meta(block, limit);
                    offset = 0;
                }
                int n = Math.min(len - done, cur.len - offset);
                System.arraycopy(cur.data, offset, dst, done, n);
                offset += n;
                done += n;
            }
        }

        int u16() throws IOException {
            byte[] b = new byte[2];
            read(b, 2);
            return SquashfsOnDisk.getShort(b, 0);
        }

        int u32() throws IOException {
            byte[] b = new byte[4];
            read(b, 4);
            return SquashfsOnDisk.getInt(b, 0);
        }

        long u64() throws IOException {
            byte[] b = new byte[8];
            read(b, 8);
            return SquashfsOnDisk.getLong(b, 0);
        }
    }

    // ---- inodes ----

    private abstract class Base {
        final int mode;
        final int uid;
        final int gid;
        final int number;

        Base(int mode, int uid, int gid, int number, long mtime) {
            this.inodeMtime = mtime;
            this.mode = mode;
            this.uid = uid;
            this.gid = gid;
            this.number = number;
        }

        public int mode() {
            return mode;
        }

        public int uid() {
            return uid;
        }

        public int gid() {
            return gid;
        }

        public long mtime() {
            return inodeMtime;
        }

        final long inodeMtime;
    }

    Node inode(long ref) throws IOException {
        long blk = ref >>> 16;
        int off = (int) (ref & 0xffff);
        if (blk >= dirTable - inodeTable || off >= SquashfsOnDisk.META_SIZE) {
            throw corrupt("inode reference " + Long.toHexString(ref) + " is outside the inode table");
        }
        Cursor c = new Cursor(inodeTable + blk, dirTable, off);
        int type = c.u16();
        int mode = c.u16() & 07777;
        int uidIdx = c.u16();
        int gidIdx = c.u16();
        long mt = c.u32() & 0xffffffffL;
        int number = c.u32();
        if (uidIdx >= idCount || gidIdx >= idCount) {
            throw corrupt("inode " + Integer.toUnsignedString(number) + ": id index out of range");
        }
        int uid = ids[uidIdx];
        int gid = ids[gidIdx];
        Base b;
        switch (type) {
            case SquashfsOnDisk.DIR: {
                long start = c.u32() & 0xffffffffL;
                c.u32(); // nlink
                int size = c.u16();
                int offset = c.u16();
                c.u32(); // parent
                b = new Directory(mode, uid, gid, number, mt, ref, start, offset, size);
                break;
            }
            case SquashfsOnDisk.LDIR: {
                c.u32(); // nlink
                long size = c.u32() & 0xffffffffL;
                long start = c.u32() & 0xffffffffL;
                c.u32(); // parent
                c.u16(); // index count
                int offset = c.u16();
                c.u32(); // xattr
                b = new Directory(mode, uid, gid, number, mt, ref, start, offset, size);
                break;
            }
            case SquashfsOnDisk.FILE: {
                long start = c.u32() & 0xffffffffL;
                int frag = c.u32();
                int fragOff = c.u32();
                long size = c.u32() & 0xffffffffL;
                b = file(c, mode, uid, gid, number, mt, start, frag, fragOff, size);
                break;
            }
            case SquashfsOnDisk.LREG: {
                long start = c.u64();
                long size = c.u64();
                c.u64(); // sparse
                c.u32(); // nlink
                int frag = c.u32();
                int fragOff = c.u32();
                c.u32(); // xattr
                if (size < 0) {
                    throw corrupt("inode " + Integer.toUnsignedString(number) + ": file size " + Long.toUnsignedString(size) + " is too large");
                }
                b = file(c, mode, uid, gid, number, mt, start, frag, fragOff, size);
                break;
            }
            case SquashfsOnDisk.SYMLINK:
            case SquashfsOnDisk.LSYMLINK: {
                c.u32(); // nlink
                int size = c.u32();
                if (size <= 0 || size > 4096) {
                    throw corrupt("inode " + Integer.toUnsignedString(number) + ": symlink target size " + Integer.toUnsignedString(size));
                }
                byte[] t = new byte[size];
                c.read(t, size);
                for (byte x : t) {
                    if (x == 0) {
                        throw corrupt("inode " + Integer.toUnsignedString(number) + ": symlink target contains NUL");
                    }
                }
                b = new Link(mode, uid, gid, number, mt, t);
                break;
            }
            case 4, 5, 6, 7, 11, 12, 13, 14:
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": device, FIFO or socket inodes are not supported in store images");
            default:
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": unknown inode type " + type);
        }
        return (Node) b;
    }

    private Base file(Cursor c, int mode, int uid, int gid, int number, long mt, long start, int frag, int fragOff, long size) throws IOException {
        boolean hasFrag = frag != SquashfsOnDisk.INVALID_FRAG;
        long nblocks = hasFrag ? size >>> blockLog : (size + blockSize - 1) >>> blockLog;
        if (hasFrag) {
            if (Integer.compareUnsigned(frag, fragCount) >= 0) {
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": fragment index " + Integer.toUnsignedString(frag) + " out of range");
            }
            long tail = size & (blockSize - 1);
            if (tail == 0 || Integer.toUnsignedLong(fragOff) + tail > blockSize) {
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": fragment offset " + Integer.toUnsignedString(fragOff) + " out of range");
            }
        }
        if (Long.compareUnsigned(start, bytesUsed) > 0) {
            throw corrupt("inode " + Integer.toUnsignedString(number) + ": data start " + Long.toUnsignedString(start) + " is outside the image");
        }
        // the block list: grow as it is actually read, so a lying size cannot make us allocate
        int[] sizes = new int[(int) Math.min(nblocks, 1024)];
        byte[] four = new byte[4];
        long pos = start;
        for (long i = 0; i < nblocks; i++) {
            if (i == sizes.length) {
                if (i >= Integer.MAX_VALUE - 16) {
                    throw corrupt("inode " + Integer.toUnsignedString(number) + ": too many blocks");
                }
                sizes = Arrays.copyOf(sizes, (int) Math.min(Integer.MAX_VALUE - 16, (long) sizes.length * 2));
            }
            c.read(four, 4);
            int s = SquashfsOnDisk.getInt(four, 0);
            int len = s & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
            if ((s & ~(SquashfsOnDisk.DATA_UNCOMPRESSED | 0xFFFFFF)) != 0 || len > blockSize) {
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": block " + i + " has invalid size " + Integer.toHexString(s));
            }
            pos += len;
            if (pos > inodeTable) {
                throw corrupt("inode " + Integer.toUnsignedString(number) + ": data blocks run past the data area");
            }
            sizes[(int) i] = s;
        }
        return new File(mode, uid, gid, number, mt, start, hasFrag ? frag : -1, fragOff, size, Arrays.copyOf(sizes, (int) nblocks));
    }

    private final class Link extends Base implements LinkNode {
        private final byte[] target;

        Link(int mode, int uid, int gid, int number, long mtime, byte[] target) {
            super(mode, uid, gid, number, mtime);
            this.target = target;
        }

        @Override
        public byte[] target() {
            return target.clone();
        }
    }

    private final class Directory extends Base implements DirNode {
        private final long ref;
        private final long start;
        private final int offset;
        private final long size;

        Directory(int mode, int uid, int gid, int number, long mtime, long ref, long start, int offset, long size) {
            super(mode, uid, gid, number, mtime);
            this.ref = ref;
            this.start = start;
            this.offset = offset;
            this.size = size;
        }

        @Override
        public List<Child> children() throws IOException {
            List<Child> out = new ArrayList<>();
            Set<Long> subdirs = new HashSet<>(); // each directory is listed once: a tree, not a DAG
            if (size <= 3) {
                return out;
            }
            if (start >= dirTableEnd - dirTable || offset >= SquashfsOnDisk.META_SIZE) {
                throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": listing is outside the directory table");
            }
            Cursor c = new Cursor(dirTable + start, dirTableEnd, offset);
            long left = size - 3;
            byte[] hdr = new byte[12];
            byte[] ent = new byte[8];
            byte[] prev = null;
            while (left > 0) {
                if (left < 12) {
                    throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": truncated listing");
                }
                c.read(hdr, 12);
                left -= 12;
                long count = (SquashfsOnDisk.getInt(hdr, 0) & 0xffffffffL) + 1;
                long blk = SquashfsOnDisk.getInt(hdr, 4) & 0xffffffffL;
                int base = SquashfsOnDisk.getInt(hdr, 8);
                if (count > SquashfsOnDisk.MAX_DIR_RUN) {
                    throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": header with " + count + " entries (at most 256)");
                }
                for (int i = 0; i < count; i++) {
                    if (left < 8) {
                        throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": truncated listing");
                    }
                    c.read(ent, 8);
                    int off = SquashfsOnDisk.getShort(ent, 0);
                    int delta = (short) SquashfsOnDisk.getShort(ent, 2);
                    int type = SquashfsOnDisk.getShort(ent, 4);
                    int nameLen = SquashfsOnDisk.getShort(ent, 6) + 1;
                    if (nameLen > 256 || left < 8 + nameLen) {
                        throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": bad entry name length " + nameLen);
                    }
                    byte[] name = new byte[nameLen];
                    c.read(name, nameLen);
                    left -= 8 + nameLen;
                    checkName(name);
                    if (prev != null && Arrays.compareUnsigned(prev, name) >= 0) {
                        throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": entries not sorted or duplicated at "
                                + RawNames.display(name));
                    }
                    prev = name;
                    long childRef = blk << 16 | off;
                    Node n = inode(childRef);
                    int expectType = n instanceof DirNode ? SquashfsOnDisk.DIR : n instanceof FileNode ? SquashfsOnDisk.FILE : SquashfsOnDisk.SYMLINK;
                    if (type != expectType) {
                        throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": entry "
                                + RawNames.display(name) + " has type " + type + " but its inode has type " + expectType);
                    }
                    if (((Base) n).number != base + delta) {
                        throw corrupt("directory inode " + Integer.toUnsignedString(number) + ": entry "
                                + RawNames.display(name) + " inode number mismatch");
                    }
                    if (n instanceof Directory) {
                        if (!subdirs.add(childRef)) {
                            throw corrupt("directory inode " + Integer.toUnsignedString(((Base) n).number) + " is listed twice in directory inode "
                                    + Integer.toUnsignedString(number));
                        }
                        Long parent = dirParents.putIfAbsent(childRef, ref);
                        if (parent != null && parent != ref) {
                            throw corrupt("directory inode " + Integer.toUnsignedString(((Base) n).number) + " is linked from two places (cycle)");
                        }
                    }
                    out.add(new Child(name, n));
                }
            }
            return out;
        }
    }

    private void checkName(byte[] name) throws CorruptImageException {
        for (byte b : name) {
            if (b == '/' || b == 0) {
                throw corrupt("entry name contains '/' or NUL: " + RawNames.display(name));
            }
        }
        if ((name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.')) {
            throw corrupt("entry named '.' or '..'");
        }
    }

    private final class File extends Base implements FileNode {
        private final long start;
        private final int frag;
        private final int fragOff;
        private final long size;
        private final int[] sizes;

        File(int mode, int uid, int gid, int number, long mtime, long start, int frag, int fragOff, long size, int[] sizes) {
            super(mode, uid, gid, number, mtime);
            this.start = start;
            this.frag = frag;
            this.fragOff = fragOff;
            this.size = size;
            this.sizes = sizes;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public InputStream open() {
            return new FileStream(this);
        }
    }

    private final class FileStream extends InputStream {
        private final File f;
        private final byte[] buf;
        private int bufPos;
        private int bufLen;
        private int nextBlock;
        private long blockPos;
        private long delivered;
        private boolean fragDone;

        FileStream(File f) {
            this.f = f;
            this.buf = new byte[blockSize];
            this.blockPos = f.start;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (bufPos == bufLen) {
                if (!fill()) {
                    return -1;
                }
            }
            int n = Math.min(len, bufLen - bufPos);
            System.arraycopy(buf, bufPos, b, off, n);
            bufPos += n;
            return n;
        }

        /** Skips whole blocks without reading them. */
        @Override
        public long skip(long n) throws IOException {
            if (n <= 0) {
                return 0;
            }
            long skipped = Math.min(n, bufLen - bufPos);
            bufPos += (int) skipped;
            while (n - skipped >= blockSize && nextBlock < f.sizes.length) {
                int expect = (int) Math.min(blockSize, f.size - (long) nextBlock * blockSize);
                if (expect > n - skipped) {
                    break;
                }
                blockPos += f.sizes[nextBlock] & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
                nextBlock++;
                delivered += expect;
                skipped += expect;
            }
            while (skipped < n) {
                if (bufPos == bufLen && !fill()) {
                    break;
                }
                int k = (int) Math.min(n - skipped, bufLen - bufPos);
                bufPos += k;
                skipped += k;
            }
            return skipped;
        }

        private boolean fill() throws IOException {
            bufPos = 0;
            if (nextBlock < f.sizes.length) {
                int i = nextBlock++;
                int expect = (int) Math.min(blockSize, f.size - (long) i * blockSize);
                int s = f.sizes[i];
                int len = s & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
                if (len == 0) {
                    Arrays.fill(buf, 0, expect, (byte) 0);
                } else {
                    readBlock(blockPos, s, buf, expect, "inode " + Integer.toUnsignedString(f.number) + " block " + i);
                }
                blockPos += len;
                bufLen = expect;
                delivered += expect;
                return true;
            }
            if (f.frag >= 0 && !fragDone) {
                fragDone = true;
                int tail = (int) (f.size - delivered);
                byte[] fb = fragment(f.frag);
                if (Integer.toUnsignedLong(f.fragOff) + tail > fb.length) {
                    throw corrupt("inode " + Integer.toUnsignedString(f.number) + ": tail beyond its fragment block");
                }
                System.arraycopy(fb, f.fragOff, buf, 0, tail);
                bufLen = tail;
                delivered += tail;
                return true;
            }
            bufLen = 0;
            return false;
        }
    }

    /** Reads a data block stored with size field {@code s} at {@code pos}; it must expand to exactly {@code expect} bytes. */
    private void readBlock(long pos, int s, byte[] dst, int expect, String what) throws IOException {
        int len = s & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
        if (pos < SquashfsOnDisk.SUPERBLOCK_SIZE || pos + len > inodeTable) {
            throw corrupt(what + " at " + pos + " is outside the data area");
        }
        if ((s & SquashfsOnDisk.DATA_UNCOMPRESSED) != 0) {
            if (len != expect) {
                throw corrupt(what + ": stored size " + len + " but " + expect + " expected");
            }
            src.read(pos, dst, 0, len);
            return;
        }
        byte[] disk = new byte[len];
        src.read(pos, disk, 0, len);
        int n;
        try {
            n = decompressor.get().decompress(disk, 0, len, dst, 0, expect);
        } catch (CorruptImageException e) {
            throw corrupt(what + ": " + e.detail());
        }
        if (n != expect) {
            throw corrupt(what + " expands to " + n + " bytes, " + expect + " expected");
        }
    }

    private final Map<Integer, byte[]> fragCache = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> e) {
            return size() > 8;
        }
    };

    private byte[] fragment(int index) throws IOException {
        synchronized (fragCache) {
            byte[] b = fragCache.get(index);
            if (b != null) {
                return b;
            }
        }
        long entryPos = (long) index * 16;
        Cursor c = new Cursor(fragIndex[(int) (entryPos / SquashfsOnDisk.META_SIZE)], bytesUsed, (int) (entryPos % SquashfsOnDisk.META_SIZE));
        long start = c.u64();
        int s = c.u32();
        int len = s & ~SquashfsOnDisk.DATA_UNCOMPRESSED;
        if ((s & ~(SquashfsOnDisk.DATA_UNCOMPRESSED | 0xFFFFFF)) != 0 || len == 0 || len > blockSize) {
            throw corrupt("fragment " + index + " has invalid size " + Integer.toHexString(s));
        }
        byte[] out = new byte[blockSize];
        int n;
        if ((s & SquashfsOnDisk.DATA_UNCOMPRESSED) != 0) {
            if (start < SquashfsOnDisk.SUPERBLOCK_SIZE || start + len > inodeTable) {
                throw corrupt("fragment " + index + " is outside the data area");
            }
            src.read(start, out, 0, len);
            n = len;
        } else {
            if (start < SquashfsOnDisk.SUPERBLOCK_SIZE || start + len > inodeTable) {
                throw corrupt("fragment " + index + " is outside the data area");
            }
            byte[] disk = new byte[len];
            src.read(start, disk, 0, len);
            try {
                n = decompressor.get().decompress(disk, 0, len, out, 0, blockSize);
            } catch (CorruptImageException e) {
                throw corrupt("fragment " + index + ": " + e.detail());
            }
        }
        byte[] b = Arrays.copyOf(out, n);
        synchronized (fragCache) {
            fragCache.put(index, b);
        }
        return b;
    }

    // ---- sources ----

    private static final class ChannelSource implements Source {
        private final FileChannel ch;
        private final long size;

        ChannelSource(FileChannel ch) throws IOException {
            this.ch = ch;
            this.size = ch.size();
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void read(long pos, byte[] dst, int off, int len) throws IOException {
            if (pos < 0 || pos + len > size) {
                throw new CorruptImageException("read of " + len + " bytes at " + pos + " is beyond the end of the image");
            }
            ByteBuffer bb = ByteBuffer.wrap(dst, off, len);
            long p = pos;
            while (bb.hasRemaining()) {
                int n = ch.read(bb, p);
                if (n < 0) {
                    throw new CorruptImageException("unexpected end of image at " + p);
                }
                p += n;
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class BytesSource implements Source {
        private final byte[] data;

        BytesSource(byte[] data) {
            this.data = data;
        }

        @Override
        public long size() {
            return data.length;
        }

        @Override
        public void read(long pos, byte[] dst, int off, int len) throws IOException {
            if (pos < 0 || pos + len > data.length) {
                throw new CorruptImageException("read of " + len + " bytes at " + pos + " is beyond the end of the image");
            }
            System.arraycopy(data, (int) pos, dst, off, len);
        }

        @Override
        public void close() {}
    }
}
