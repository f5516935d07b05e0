package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The EROFS reuse table: what a later build needs to copy a store path's data from this image instead of
 * compressing it again ({@code image build --reuse}). It follows the file system (after its last block, which the
 * superblock's block count names), so the kernel and fsck.erofs never read it; the image ends with a 48-byte
 * trailer: magic {@code MFEROREU} (8 bytes), the table's length (u64 LE), the table's SHA-256. The gap between
 * table and trailer is zeros and the file's length a multiple of 4 KiB.
 *
 * <p>The table (the uncompressed length as a big-endian u32, then raw deflate at level 9; numbers inside as
 * unsigned LEB128) holds the options digest (every option that decides the data bytes, and
 * {@link #LAYOUT_VERSION}) and, per group (top-level entry, in the root's order): its key (store path name and
 * narHash; empty when unknown, and then never reused); its data extent (first block, block count, CRC32C of its
 * bytes); its part of the packed inode (logical start and length, first block and block count of its pclusters,
 * CRC32C of those blocks); whether a tail of it did not fit the packed inode; the CRC32C of its files' maps
 * ({@link FileMap#describe}, relative to the group's extents, and of its packed part's extents); and per regular
 * file in data order its size, its nid (where its inode is in this image) and whether it shares the data of a
 * file of an earlier group (uncompressed dedupe). The maps themselves are read back from the image's inodes and
 * checked against that CRC32C. Everything in it is a function of the tree and the options, so a fresh and an
 * incremental build write the same table.
 */
final class ErofsReuse {
    private ErofsReuse() {}

    /** Bump whenever the bytes written for a given input and options may change. */
    static final String LAYOUT_VERSION = "microforge-erofs-per-path-1";
    static final byte[] MAGIC = "MFEROREU".getBytes(StandardCharsets.US_ASCII);
    static final int TRAILER = 48;
    /** Tables larger than this are not read (a corrupt trailer must not make us allocate). */
    static final long MAX_TABLE = 1L << 30;

    /**
     * Where one file's data is, as its inode says. FLAT layouts: {@code iu} the first block when {@code hasBlocks},
     * {@code tail} the inline tail (or null). COMPRESSED_COMPACT: {@code iu} the block count, {@code extents},
     * {@code tail} the inline pcluster (or null). COMPRESSED_FULL (a file that is one fragment): {@code iu} the
     * block count, one FRAGMENT extent. Addresses are absolute in an image, or relative to the group's data
     * extent (blocks) and packed part (fragment offsets) in the reuse table's terms.
     */
    record FileMap(int layout, long iu, boolean hasBlocks, List<Extent> extents, byte[] tail) {
        static final FileMap EMPTY = new FileMap(LAYOUT_FLAT_PLAIN, 0, false, null, null);

        /** This map with block addresses {@code dataBy} blocks and fragment offsets {@code partBy} bytes further. */
        FileMap moved(long dataBy, long partBy) {
            if (extents == null) {
                return hasBlocks ? new FileMap(layout, iu + dataBy, true, null, tail) : this;
            }
            List<Extent> e = new ArrayList<>(extents.size());
            for (Extent x : extents) {
                if (x.inBlocks()) {
                    e.add(new Extent(x.start(), x.kind(), x.addr() + dataBy, x.blocks(), x.produced()));
                } else if (x.kind() == Extent.Kind.FRAGMENT) {
                    e.add(new Extent(x.start(), x.kind(), x.addr() + partBy, 0, 0));
                } else {
                    e.add(x);
                }
            }
            return new FileMap(layout, iu, hasBlocks, e, tail);
        }

        /** Feeds what this map says (not the compressed lengths, which the index does not hold) to {@code c}. */
        void describe(CRC32C c) {
            ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(layout).putLong(iu).putInt(hasBlocks ? 1 : 0).putInt(extents == null ? -1 : extents.size()).putInt(tail == null ? -1 : tail.length);
            c.update(b.array(), 0, b.position());
            if (extents != null) {
                for (Extent x : extents) {
                    b.clear();
                    b.putLong(x.start()).putInt(x.kind().ordinal()).putLong(x.addr()).putInt(x.blocks());
                    c.update(b.array(), 0, b.position());
                }
            }
            if (tail != null) {
                c.update(tail);
            }
        }
    }

    /** One group's entry; {@code files} sizes, nids and external flags in data order. */
    record Group(String key, long dataStart, long dataBlocks, long dataCrc, long partStart, long partLength, long partBlock,
            long partBlocks, long partCrc, boolean refused, long mapsCrc, long[] sizes, long[] nids, boolean[] external) {}

    record Table(byte[] optionsDigest, List<Group> groups) {}

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The table, zeros and the trailer, as they follow the file system: a multiple of 4 KiB. */
    static byte[] withTrailer(Table table) {
        byte[] t = encode(table);
        long total = t.length + TRAILER;
        int len = (int) ((total + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE);
        byte[] b = new byte[len];
        System.arraycopy(t, 0, b, 0, t.length);
        int at = len - TRAILER;
        System.arraycopy(MAGIC, 0, b, at, 8);
        ByteBuffer.wrap(b, at + 8, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(t.length);
        System.arraycopy(sha256(t), 0, b, at + 16, 32);
        return b;
    }

    private static byte[] encode(Table table) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            DataOutputStream o = new DataOutputStream(bos);
            o.write(table.optionsDigest());
            varint(o, table.groups().size());
            for (Group g : table.groups()) {
                byte[] k = g.key().getBytes(StandardCharsets.UTF_8);
                varint(o, k.length);
                o.write(k);
                varint(o, g.dataStart());
                varint(o, g.dataBlocks());
                o.writeInt((int) g.dataCrc());
                varint(o, g.partStart());
                varint(o, g.partLength());
                varint(o, g.partBlock());
                varint(o, g.partBlocks());
                o.writeInt((int) g.partCrc());
                o.writeBoolean(g.refused());
                o.writeInt((int) g.mapsCrc());
                varint(o, g.sizes().length);
                for (int i = 0; i < g.sizes().length; i++) {
                    varint(o, g.sizes()[i]);
                    varint(o, g.nids()[i]);
                    o.writeBoolean(g.external()[i]);
                }
            }
            o.flush();
            byte[] raw = bos.toByteArray();
            Deflater z = new Deflater(Deflater.BEST_COMPRESSION, true);
            try {
                z.setInput(raw);
                z.finish();
                ByteArrayOutputStream packed = new ByteArrayOutputStream(raw.length / 2 + 64);
                DataOutputStream po = new DataOutputStream(packed);
                po.writeInt(raw.length);
                byte[] buf = new byte[1 << 16];
                while (!z.finished()) {
                    int n = z.deflate(buf);
                    po.write(buf, 0, n);
                }
                po.flush();
                return packed.toByteArray();
            } finally {
                z.end();
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The table of the image in {@code ch} whose file system ends at {@code fsEnd}, or null when it has none (an
     * image of another tool, or truncated), or a wrong one; {@code why[0]} then says why.
     */
    static Table read(FileChannel ch, long fsEnd, String[] why) throws IOException {
        long size = ch.size();
        if (size < fsEnd + TRAILER) {
            why[0] = "no reuse table after the file system (" + size + " bytes)";
            return null;
        }
        byte[] tr = readAt(ch, size - TRAILER, TRAILER);
        if (!Arrays.equals(tr, 0, 8, MAGIC, 0, 8)) {
            why[0] = "no reuse table (no trailer at the end of the file)";
            return null;
        }
        long len = ByteBuffer.wrap(tr, 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (len < 0 || len > MAX_TABLE || fsEnd + len > size - TRAILER) {
            why[0] = "reuse table length " + len + " does not fit the file";
            return null;
        }
        byte[] t = readAt(ch, fsEnd, (int) len);
        if (!Arrays.equals(sha256(t), 0, 32, tr, 16, 48)) {
            why[0] = "reuse table checksum mismatch";
            return null;
        }
        try {
            return decode(t);
        } catch (IOException | RuntimeException e) {
            why[0] = "reuse table unreadable";
            return null;
        }
    }

    private static Table decode(byte[] packed) throws IOException {
        if (packed.length < 4) {
            throw new IOException("short table");
        }
        int rawLen = ByteBuffer.wrap(packed).getInt();
        if (rawLen < 0 || rawLen > MAX_TABLE) {
            throw new IOException("bad table length");
        }
        byte[] t = new byte[rawLen];
        Inflater z = new Inflater(true);
        try {
            z.setInput(packed, 4, packed.length - 4);
            int n = 0;
            while (n < rawLen) {
                int k = z.inflate(t, n, rawLen - n);
                if (k == 0 && (z.finished() || z.needsInput() || z.needsDictionary())) {
                    throw new IOException("short table");
                }
                n += k;
            }
        } catch (DataFormatException e) {
            throw new IOException("bad table", e);
        } finally {
            z.end();
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(t));
        byte[] opts = new byte[32];
        in.readFully(opts);
        int n = count(in, t.length);
        List<Group> groups = new ArrayList<>(n);
        for (int gi = 0; gi < n; gi++) {
            byte[] k = new byte[count(in, t.length)];
            in.readFully(k);
            long ds = readVarint(in);
            long db = readVarint(in);
            long dc = in.readInt() & 0xffffffffL;
            long ps = readVarint(in);
            long pl = readVarint(in);
            long pb = readVarint(in);
            long pn = readVarint(in);
            long pc = in.readInt() & 0xffffffffL;
            boolean refused = in.readBoolean();
            long mc = in.readInt() & 0xffffffffL;
            int files = count(in, t.length);
            long[] sizes = new long[files];
            long[] nids = new long[files];
            boolean[] ext = new boolean[files];
            for (int i = 0; i < files; i++) {
                sizes[i] = readVarint(in);
                nids[i] = readVarint(in);
                ext[i] = in.readBoolean();
            }
            groups.add(new Group(new String(k, StandardCharsets.UTF_8), ds, db, dc, ps, pl, pb, pn, pc, refused, mc, sizes, nids, ext));
        }
        if (in.available() != 0) {
            throw new IOException("trailing bytes");
        }
        return new Table(opts, groups);
    }

    // ------------------------------------------------------------------ the earlier image's inodes

    /**
     * The map of the regular file at {@code nid} in an image whose metadata starts at byte {@code metaBase}, which
     * must be {@code size} bytes long (any size when negative); {@code big}: the image has big pclusters. Absolute addresses.
     */
    static FileMap readMap(Cached ch, long metaBase, long nid, long size, boolean big) throws IOException {
        long off = metaBase + nid * 32;
        if (nid < 0 || off + INODE_COMPACT_SIZE > ch.size()) {
            throw new CorruptImageException("inode " + nid + " is outside the image");
        }
        ByteBuffer b = ByteBuffer.wrap(ch.readAt(off, (int) Math.min(INODE_EXTENDED_SIZE, ch.size() - off))).order(ByteOrder.LITTLE_ENDIAN);
        int format = b.getShort(0) & 0xFFFF;
        boolean ext = (format & 1) != 0;
        int layout = (format >>> 1) & 0x7;
        int isize = ext ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
        if ((format & ~0xF) != 0 || (ext && b.limit() < INODE_EXTENDED_SIZE) || (b.getShort(2) & 0xFFFF) != 0) {
            throw new CorruptImageException("inode " + nid + ": unexpected format");
        }
        if ((b.getShort(4) & S_IFMT) != S_IFREG) {
            throw new CorruptImageException("inode " + nid + " is not a regular file");
        }
        long isz = ext ? b.getLong(8) : b.getInt(8) & 0xFFFFFFFFL;
        if (size >= 0 && isz != size) {
            throw new CorruptImageException("inode " + nid + " has size " + isz + ", expected " + size);
        }
        size = isz;
        long iu = b.getInt(16) & 0xFFFFFFFFL;
        long at = off + isize;
        switch (layout) {
            case LAYOUT_FLAT_PLAIN:
                return new FileMap(layout, iu, iu != 0, null, null);
            case LAYOUT_FLAT_INLINE: {
                int t = (int) (size % BLOCK_SIZE);
                if (t == 0 || isize + t > BLOCK_SIZE) {
                    throw new CorruptImageException("inode " + nid + ": inline tail of " + t + " bytes");
                }
                return new FileMap(layout, iu, iu != 0, null, ch.readAt(at, t));
            }
            case LAYOUT_COMPRESSED_FULL: {
                long h = ByteBuffer.wrap(ch.readAt(at, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
                if (h >= 0) {
                    throw new CorruptImageException("inode " + nid + ": full index other than one fragment");
                }
                return new FileMap(layout, iu, false, List.of(new Extent(0, Extent.Kind.FRAGMENT, h & Long.MAX_VALUE, 0, 0)), null);
            }
            case LAYOUT_COMPRESSED_COMPACT: {
                ByteBuffer h = ByteBuffer.wrap(ch.readAt(at, 8)).order(ByteOrder.LITTLE_ENDIAN);
                int advise = h.getShort(4) & 0xFFFF;
                boolean frag = (advise & ADVISE_FRAGMENT_PCLUSTER) != 0;
                int idata = frag ? 0 : h.getShort(2) & 0xFFFF;
                long fragOff = h.getInt(0) & 0xFFFFFFFFL;
                if (size == 0 || size > (long) Integer.MAX_VALUE * BLOCK_SIZE || idata > BLOCK_SIZE) {
                    throw new CorruptImageException("inode " + nid + ": compressed size " + size);
                }
                int n = (int) ((size + BLOCK_SIZE - 1) / BLOCK_SIZE);
                int areaLen = CompactIndex.areaSize(n);
                if (at + 8 + areaLen + idata > ch.size()) {
                    throw new CorruptImageException("inode " + nid + ": index outside the image");
                }
                byte[] area = ch.readAt(at + 8, areaLen);
                Extent.Kind last = frag ? Extent.Kind.FRAGMENT : idata > 0 ? Extent.Kind.INLINE : Extent.Kind.COMPRESSED;
                List<Extent> e = CompactIndex.decode(area, n, big, last, fragOff);
                return new FileMap(layout, iu, false, e, idata > 0 ? ch.readAt(at + 8 + areaLen, idata) : null);
            }
            default:
                throw new CorruptImageException("inode " + nid + ": data layout " + layout);
        }
    }


    /**
     * An earlier image read in aligned chunks of {@link #CHUNK} bytes, the last {@link #CACHED} of them kept: the
     * planner reads the inodes in the order of their nids, so each chunk is read once. The
     * file's size is taken once, when this is made; reads past it are a {@link CorruptImageException}.
     */
    static final class Cached {
        static final int CHUNK = 1 << 16;
        static final int CACHED = 16;
        private final FileChannel ch;
        private final long size;
        private final Map<Long, byte[]> chunks = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > CACHED;
            }
        };

        Cached(FileChannel ch) throws IOException {
            this.ch = ch;
            this.size = ch.size();
        }

        long size() {
            return size;
        }

        /** {@code len} bytes from {@code pos}. */
        byte[] readAt(long pos, int len) throws IOException {
            if (pos < 0 || len < 0 || pos + len > size) {
                throw new CorruptImageException("unexpected end of the image at byte " + Math.min(Math.max(pos, 0) + len, size));
            }
            byte[] out = new byte[len];
            for (int done = 0; done < len; ) {
                long at = pos + done;
                long k = at / CHUNK;
                byte[] c = chunks.get(k);
                if (c == null) {
                    c = ErofsReuse.readAt(ch, k * CHUNK, (int) Math.min(CHUNK, size - k * CHUNK));
                    chunks.put(k, c);
                }
                int from = (int) (at - k * CHUNK);
                int n = Math.min(len - done, c.length - from);
                System.arraycopy(c, from, out, done, n);
                done += n;
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ CRC32C

    /** Reflected CRC32C (Castagnoli) polynomial. */
    private static final int POLY = 0x82F63B78;

    /**
     * The CRC32C of A followed by B from {@code crcA} = CRC32C(A), {@code crcB} = CRC32C(B) and B's length: crcA
     * times x^(8 lenB) modulo the polynomial (reflected bit order), XOR crcB. x^(8 lenB) is the product of the
     * precomputed x^(2^k) for the bits of 8 lenB, so one call costs a few dozen GF(2) multiplications of 32 steps
     * (zlib's crc32_combine method).
     */
    static long crc32cCombine(long crcA, long crcB, long lenB) {
        if (lenB <= 0) {
            return crcA;
        }
        return (multModP(xPow8n(lenB), (int) crcA) ^ (int) crcB) & 0xFFFFFFFFL;
    }

    /** x^(2^k) modulo the polynomial, k = 0..66 (x^1 is 1 << 30 in reflected order). */
    private static final int[] X2N = x2nTable();

    private static int[] x2nTable() {
        int[] t = new int[67];
        int p = 1 << 30;
        t[0] = p;
        for (int k = 1; k < 67; k++) {
            p = multModP(p, p);
            t[k] = p;
        }
        return t;
    }

    /** a times b modulo the polynomial, both in reflected order (x^0 is bit 31). */
    private static int multModP(int a, int b) {
        int m = 1 << 31;
        int p = 0;
        while (true) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) {
                    return p;
                }
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
    }

    /** x^(8n) modulo the polynomial, n > 0. */
    private static int xPow8n(long n) {
        int p = 1 << 31; // x^0
        int k = 3;
        while (n != 0) {
            if ((n & 1) != 0) {
                p = multModP(X2N[k], p);
            }
            n >>>= 1;
            k++;
        }
        return p;
    }

    // ------------------------------------------------------------------ encoding helpers

    private static int count(DataInputStream in, int limit) throws IOException {
        long n = readVarint(in);
        if (n < 0 || n > limit) {
            throw new IOException("bad count " + n);
        }
        return (int) n;
    }

    /** Unsigned LEB128 (7 bits a byte, low first). */
    private static void varint(DataOutputStream o, long v) throws IOException {
        while ((v & ~0x7fL) != 0) {
            o.writeByte((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        o.writeByte((int) v);
    }

    private static long readVarint(DataInputStream in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.readUnsignedByte();
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IOException("varint too long");
    }

    static byte[] readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw new CorruptImageException("unexpected end of the image at byte " + (pos + b.position()));
            }
        }
        return b.array();
    }
}
