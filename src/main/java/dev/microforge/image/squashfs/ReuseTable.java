package dev.microforge.image.squashfs;

import dev.microforge.image.squashfs.DataWriter.FileData;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The reuse table: what a later build needs to copy a store path's data extent from this image instead of
 * compressing it again ({@code image build --reuse}). It follows the file system (at {@code bytes_used} rounded
 * up to 4 KiB), outside {@code bytes_used}, so the kernel, unsquashfs and rdsquashfs never read it; the image ends
 * with a 48-byte trailer: magic {@code MFSQREU1}, the table's length (u64 LE), the table's SHA-256; the trailer
 * is the last 48 bytes of the file, the gap between table and trailer is zeros and the file's length a multiple
 * of 4 KiB.
 *
 * <p>The table (the uncompressed length as a big-endian u32, then raw deflate at level 9; numbers inside as
 * unsigned LEB128) holds the options digest (every option that decides the data bytes, and
 * {@link #LAYOUT_VERSION}) and, per group (store path) in image order: its key (the store path's name and
 * narHash; empty when unknown, and then never reused), its extent (start, length, CRC32C of the extent's
 * bytes: it detects a corrupt copy; that the content is the same is the key's narHash), its fragment blocks
 * (start relative to the extent, stored size) and, per regular file in tree order, its size, whether it is a
 * duplicate of a file of an earlier group (then it has no data of its own here), and its {@link FileData}
 * relative to the extent (block start minus the extent's start, fragment index minus the group's first)
 * and, for a file that holds its own data (no duplicate), per data block two CRC32Cs: of the block's bytes and of
 * its stored bytes (0 and 0 for a sparse block). The first finds a block of the same content in this image
 * (the data of a file that a later build compresses again: {@code DataWriter}), the second checks the stored
 * bytes before they are copied. Everything in it is a function of the tree and the options, so a fresh and an incremental build write the
 * same table.
 */
final class ReuseTable {
    /** Bump whenever the bytes a compressor writes for a given input, or this table's encoding, may change. */
    static final String LAYOUT_VERSION = "microforge-squashfs-per-path-2";
    static final byte[] MAGIC = "MFSQREU1".getBytes(StandardCharsets.US_ASCII);
    static final int TRAILER = 48;
    /** Tables larger than this are not read (a corrupt trailer must not make us allocate). */
    static final long MAX_TABLE = 1L << 30;

    record Group(String key, long extentStart, long extentLength, long extentCrc32c, long[] fragRelStarts,
            int[] fragSizes, long[] fileSizes, boolean[] external, List<FileData> files, List<int[]> blockCrcs) {}

    final byte[] optionsDigest;
    final List<Group> groups;

    ReuseTable(byte[] optionsDigest, List<Group> groups) {
        this.optionsDigest = optionsDigest;
        this.groups = List.copyOf(groups);
    }

    static byte[] sha256(byte[]... parts) {
        MessageDigest md = newSha256();
        for (byte[] p : parts) {
            md.update(p);
        }
        return md.digest();
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            DataOutputStream o = new DataOutputStream(bos);
            o.write(optionsDigest);
            varint(o, groups.size());
            for (Group g : groups) {
                byte[] k = g.key.getBytes(StandardCharsets.UTF_8);
                varint(o, k.length);
                o.write(k);
                varint(o, g.extentStart);
                varint(o, g.extentLength);
                o.writeInt((int) g.extentCrc32c);
                varint(o, g.fragSizes.length);
                for (int i = 0; i < g.fragSizes.length; i++) {
                    varint(o, g.fragRelStarts[i]);
                    varint(o, g.fragSizes[i] & 0xffffffffL);
                }
                varint(o, g.files.size());
                for (int i = 0; i < g.files.size(); i++) {
                    FileData d = g.files.get(i);
                    varint(o, g.fileSizes[i]);
                    o.writeBoolean(g.external[i]);
                    varint(o, d.start());
                    varint(o, (d.fragIndex() + 1) & 0xffffffffL); // the invalid index (-1) as 0
                    varint(o, d.fragOffset() & 0xffffffffL);
                    varint(o, d.sparse());
                    varint(o, d.sizes().length);
                    for (int s : d.sizes()) {
                        varint(o, s & 0xffffffffL);
                    }
                    int[] crcs = g.blockCrcs.get(i);
                    varint(o, crcs.length);
                    for (int c : crcs) {
                        o.writeInt(c);
                    }
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

    /** The table, zeros and the trailer, as they follow the file system (which ends on 4 KiB): a multiple of 4 KiB. */
    byte[] withTrailer() {
        byte[] t = encode();
        long total = t.length + TRAILER;
        int len = (int) ((total + SquashfsOnDisk.DEVICE_BLOCK - 1) / SquashfsOnDisk.DEVICE_BLOCK * SquashfsOnDisk.DEVICE_BLOCK);
        byte[] b = new byte[len];
        System.arraycopy(t, 0, b, 0, t.length);
        int at = len - TRAILER;
        System.arraycopy(MAGIC, 0, b, at, 8);
        SquashfsOnDisk.putLong(b, at + 8, t.length);
        System.arraycopy(sha256(t), 0, b, at + 16, 32);
        return b;
    }

    /**
     * The table of the image in {@code ch}, or null when it has none (an image of another tool, or truncated);
     * {@code why[0]} then says why. A table whose checksum or structure is wrong is also null. A table whose
     * options digest is not {@code digest} has no groups (its encoding may be another layout version's).
     */
    static ReuseTable read(FileChannel ch, long fsEnd, byte[] digest, String[] why) throws IOException {
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
        long len = SquashfsOnDisk.getLong(tr, 8);
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
            return decode(t, digest);
        } catch (IOException | RuntimeException e) {
            why[0] = "reuse table unreadable";
            return null;
        }
    }

    private static ReuseTable decode(byte[] packed, byte[] digest) throws IOException {
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
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(t));
        byte[] opts = new byte[32];
        in.readFully(opts);
        if (!Arrays.equals(opts, digest)) {
            return new ReuseTable(opts, List.of());
        }
        int n = count(in, t.length);
        List<Group> groups = new ArrayList<>(n);
        for (int gi = 0; gi < n; gi++) {
            byte[] k = new byte[count(in, t.length)];
            in.readFully(k);
            long start = readVarint(in);
            long length = readVarint(in);
            long sha = in.readInt() & 0xffffffffL;
            int nf = count(in, t.length);
            long[] fragStarts = new long[nf];
            int[] fragSizes = new int[nf];
            for (int i = 0; i < nf; i++) {
                fragStarts[i] = readVarint(in);
                fragSizes[i] = (int) readVarint(in);
            }
            int files = count(in, t.length);
            long[] sizes = new long[files];
            boolean[] external = new boolean[files];
            List<FileData> data = new ArrayList<>(files);
            List<int[]> crcs = new ArrayList<>(files);
            for (int i = 0; i < files; i++) {
                sizes[i] = readVarint(in);
                external[i] = in.readBoolean();
                long s = readVarint(in);
                int fi = (int) readVarint(in) - 1;
                int fo = (int) readVarint(in);
                long sparse = readVarint(in);
                int[] bs = new int[count(in, t.length)];
                for (int j = 0; j < bs.length; j++) {
                    bs[j] = (int) readVarint(in);
                }
                data.add(new FileData(s, bs, fi, fo, sparse));
                int[] c = new int[count(in, t.length)];
                if (c.length != 0 && c.length != 2 * bs.length) {
                    throw new IOException("bad block checksums");
                }
                for (int j = 0; j < c.length; j++) {
                    c[j] = in.readInt();
                }
                crcs.add(c);
            }
            groups.add(new Group(new String(k, StandardCharsets.UTF_8), start, length, sha, fragStarts, fragSizes,
                    sizes, external, data, crcs));
        }
        if (in.available() != 0) {
            throw new IOException("trailing bytes");
        }
        return new ReuseTable(opts, groups);
    }

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
                throw new IOException("unexpected end of file");
            }
        }
        return b.array();
    }
}
