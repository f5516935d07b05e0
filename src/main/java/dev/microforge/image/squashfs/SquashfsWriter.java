package dev.microforge.image.squashfs;

import dev.microforge.fs.Dir;
import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.codec.Codec;
import dev.microforge.image.codec.XzCodec;
import dev.microforge.image.squashfs.DataWriter.Fragment;
import dev.microforge.image.squashfs.DataWriter.Layout;
import dev.microforge.image.squashfs.DirectoryWriter.Listing;
import dev.microforge.image.squashfs.InodeTree.DirInode;
import dev.microforge.image.squashfs.InodeTree.FileInode;
import dev.microforge.image.squashfs.InodeTree.Inode;
import dev.microforge.image.squashfs.InodeTree.SymlinkInode;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes a SquashFS 4.0 image as the Linux kernel reads it. Layout (as mksquashfs): superblock, compressor
 * options, data and fragment blocks, inode table, directory table, fragment table, id table.
 *
 * <p>This class holds the validated options and puts the parts together; each part of the format has its
 * class: {@link InodeTree} (inodes and numbers), {@link DataWriter} (blocks, sparse blocks, fragments,
 * duplicates; {@link ReadAhead} feeds it), {@link ImageOutput} (the image file), {@link DirectoryWriter}
 * (listings and their index), {@link InodeEncoder} (inode bytes), {@link MetaWriter} (metadata blocks),
 * {@link Superblock}. Metadata is written after the data, bottom-up (children before their directory), so
 * every reference is known when it is written. A {@link #write} keeps no state in this object: it may be
 * called again, the images are the same.
 */
public final class SquashfsWriter {
    static final int DEFAULT_BLOCK_SIZE = SquashfsOptions.DEFAULT_BLOCK_SIZE;
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

    public SquashfsWriter(ImageOptions options, Events events) {
        this(options, events, CANDIDATE_BUFFER_LIMIT);
    }

    /** With another limit for reading duplicate candidates into memory (tests: both ways give the same image). */
    SquashfsWriter(ImageOptions options, Events events, long candidateBufferLimit) {
        this(SquashfsOptions.of(options), events, candidateBufferLimit);
    }

    public SquashfsWriter(SquashfsOptions options, Events events) {
        this(options, events, CANDIDATE_BUFFER_LIMIT);
    }

    private SquashfsWriter(SquashfsOptions options, Events events, long candidateBufferLimit) {
        this.candidateBufferLimit = candidateBufferLimit;
        this.codec = options.codec();
        this.levelGiven = options.levelGiven();
        this.level = options.level();
        this.blockSize = options.blockSize();
        this.blockLog = Integer.numberOfTrailingZeros(blockSize);
        this.threads = options.threads();
        this.fragments = options.fragments();
        this.tailPacking = options.tailPacking();
        this.mtime = options.mtime();
        this.events = events;
    }

    /** Writes the image of {@code root} to {@code channel} (positioned at 0, empty). */
    public void write(Dir root, FileChannel channel) throws IOException {
        write(root, channel, null);
    }

    /**
     * As {@link #write(Dir, FileChannel)}; {@code path} (the file behind {@code channel}, or null) is opened a
     * second time for direct I/O (O_DIRECT), which the image data goes through when the file system takes it:
     * no copy into the page cache, and the final fsync has little left to do. Everything else, and every write
     * the file system refuses that way, goes through {@code channel}.
     */
    public void write(Dir root, FileChannel channel, Path path) throws IOException {
        write(root, channel, path, Map.of(), null);
    }

    /**
     * As {@link #write(Dir, FileChannel, Path)}. {@code narHashes}: the narHash of each top-level entry (store path
     * name) that has one; they key the reuse table (an entry without one is never copied from an earlier image).
     * {@code reuse}: an earlier image (or null) whose store paths with the same name, narHash and options are
     * copied instead of compressed; the image is the same as without it. {@code reuse} not being a SquashFS
     * image is bad input; an image without a usable reuse table, or built with other options, is a warning
     * (nothing reused), as is a store path whose extent fails its checksum (compressed again).
     */
    public void write(Dir root, FileChannel channel, Path path, Map<String, String> narHashes, Path reuse)
            throws IOException {
        InodeTree tree = InodeTree.of(root);
        List<byte[]> topNames = tree.root().names();
        String[] keys = new String[topNames.size()];
        for (int i = 0; i < keys.length; i++) {
            String name = new String(topNames.get(i), StandardCharsets.ISO_8859_1);
            String nar = narHashes.get(name);
            keys[i] = nar == null ? "" : name + " " + nar;
        }
        byte[] optionsDigest = optionsDigest();
        ImageOutput out = new ImageOutput(channel, path);
        FileChannel old = reuse == null ? null : openReuse(reuse);
        try {
            DataWriter.Reuse from = null;
            if (old != null) {
                ReuseTable table = readTable(reuse, old, optionsDigest);
                if (table != null && !Arrays.equals(table.optionsDigest, optionsDigest)) {
                    events.warn(reuse + ": built with other image options (or another microforge layout version); nothing reused");
                } else if (table != null) {
                    from = new DataWriter.Reuse(reuse.toString(), old, table, codec::newDecompressor);
                }
            }
            byte[] compOpts = compressorOptions();
            out.write(new byte[Superblock.SIZE]);
            if (compOpts != null) {
                byte[] hdr = new byte[2];
                SquashfsOnDisk.putShort(hdr, 0, compOpts.length | SquashfsOnDisk.META_UNCOMPRESSED);
                out.write(hdr);
                out.write(compOpts);
            }
            Layout data = new DataWriter(tree.files(), this::newCompressor, blockSize, threads, fragments, tailPacking,
                    candidateBufferLimit, out, events, keys, from).write();

            Codec.Compressor metaCompressor = codec.name().equals("none") ? null : newCompressor();
            MetaWriter inodes = new MetaWriter(metaCompressor);
            MetaWriter dirs = new MetaWriter(metaCompressor);
            events.start("writing squashfs metadata", -1);
            long rootRef = writeDir(tree.root(), tree.inodeCount() + 1, data, new InodeEncoder(mtime), inodes, dirs);
            long inodeTableStart = out.position();
            out.write(inodes.finish());
            long dirTableStart = out.position();
            out.write(dirs.finish());

            long fragTableStart = SquashfsOnDisk.INVALID;
            List<Fragment> frags = data.fragments();
            if (!frags.isEmpty()) {
                MetaWriter fm = new MetaWriter(metaCompressor);
                byte[] e = new byte[16];
                for (Fragment f : frags) {
                    SquashfsOnDisk.putLong(e, 0, f.start());
                    SquashfsOnDisk.putInt(e, 8, f.size());
                    SquashfsOnDisk.putInt(e, 12, 0);
                    fm.write(e);
                }
                fragTableStart = writeLookupTable(fm, out);
            }
            MetaWriter idm = new MetaWriter(metaCompressor);
            idm.write(new byte[4]); // one id: 0 (root)
            long idTableStart = writeLookupTable(idm, out);
            long bytesUsed = out.position();
            int pad = (int) ((SquashfsOnDisk.DEVICE_BLOCK - bytesUsed % SquashfsOnDisk.DEVICE_BLOCK) % SquashfsOnDisk.DEVICE_BLOCK);
            out.write(new byte[pad]);
            out.write(new ReuseTable(optionsDigest, data.groups()).withTrailer());
            out.close();
            events.finish("writing squashfs metadata");

            byte[] sb = new Superblock(tree.inodeCount(), mtime & 0xffffffffL, blockSize, frags.size(),
                    SquashfsOnDisk.compressorId(codec.name()), blockLog, flags(compOpts != null), 1, 4, 0, rootRef,
                    bytesUsed, idTableStart, SquashfsOnDisk.INVALID, inodeTableStart, dirTableStart, fragTableStart,
                    SquashfsOnDisk.INVALID).encode();
            ByteBuffer bb = ByteBuffer.wrap(sb);
            long p = 0;
            while (bb.hasRemaining()) {
                p += channel.write(bb, p);
            }
        } finally {
            out.abandon();
            if (old != null) {
                old.close();
            }
        }
    }

    /** Every option that decides the data area's bytes, and the layout version, as a SHA-256. */
    private byte[] optionsDigest() {
        String s = ReuseTable.LAYOUT_VERSION + "\n" + codec.name() + "\n" + (levelGiven ? level : "default") + "\n"
                + (codec instanceof XzCodec x ? x.bcj() : "-") + "\n" + blockSize + "\n" + fragments + "\n" + tailPacking;
        return ReuseTable.sha256(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Opens the earlier image for --reuse: it must exist and start with the SquashFS magic. */
    private static FileChannel openReuse(Path reuse) throws IOException {
        if (!Files.isRegularFile(reuse)) {
            throw new UserError(reuse + ": --reuse image does not exist or is not a regular file");
        }
        FileChannel ch = FileChannel.open(reuse, StandardOpenOption.READ);
        try {
            if (ch.size() < Superblock.SIZE || SquashfsOnDisk.getInt(ReuseTable.readAt(ch, 0, 4), 0) != SquashfsOnDisk.MAGIC) {
                throw new UserError(reuse + ": --reuse image is not a SquashFS image");
            }
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The earlier image's reuse table, or null (with a note) when it has no usable one. */
    private ReuseTable readTable(Path reuse, FileChannel ch, byte[] digest) throws IOException {
        String[] why = new String[1];
        ReuseTable t = null;
        try {
            Superblock sb = Superblock.decode(ReuseTable.readAt(ch, 0, Superblock.SIZE));
            long used = sb.bytesUsed();
            long fsEnd = (used + SquashfsOnDisk.DEVICE_BLOCK - 1) / SquashfsOnDisk.DEVICE_BLOCK * SquashfsOnDisk.DEVICE_BLOCK;
            if (used < Superblock.SIZE || fsEnd > ch.size()) {
                why[0] = "bytes used " + used + " is outside the file";
            } else {
                t = ReuseTable.read(ch, fsEnd, digest, why);
            }
        } catch (CorruptImageException e) {
            why[0] = e.getMessage();
        }
        if (t == null) {
            events.warn(reuse + ": " + why[0] + "; nothing reused");
        }
        return t;
    }

    /**
     * Writes the inodes of {@code d}'s subtree (children first, subdirectories depth first), its listing, then
     * its own inode; returns the directory's inode reference.
     */
    private static long writeDir(DirInode d, int parent, Layout data, InodeEncoder encoder, MetaWriter inodes,
            MetaWriter dirs) {
        List<Inode> children = d.children();
        long[] refs = new long[children.size()];
        int subdirs = 0;
        for (int i = 0; i < refs.length; i++) {
            Inode c = children.get(i);
            if (c instanceof DirInode sub) {
                refs[i] = writeDir(sub, d.number(), data, encoder, inodes, dirs);
                subdirs++;
            } else {
                refs[i] = inodes.ref();
                inodes.write(c instanceof FileInode f ? encoder.file(f, data.files().get(f.index()))
                        : encoder.symlink((SymlinkInode) c));
            }
        }
        Listing listing = DirectoryWriter.write(d, refs, dirs);
        long ref = inodes.ref();
        inodes.write(encoder.directory(d, listing, subdirs, parent));
        return ref;
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
    private static long writeLookupTable(MetaWriter m, ImageOutput out) throws IOException {
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
}
