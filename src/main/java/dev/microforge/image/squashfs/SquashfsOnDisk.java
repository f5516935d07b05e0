package dev.microforge.image.squashfs;

/** SquashFS 4.0 on-disk constants (see squashfs-tools-ng doc/format.adoc and the kernel's squashfs_fs.h). */
final class SquashfsOnDisk {
    static final int MAGIC = 0x73717368;
    static final int SUPERBLOCK_SIZE = 96;
    static final int META_SIZE = 8192;
    static final int META_UNCOMPRESSED = 0x8000;
    static final int DATA_UNCOMPRESSED = 1 << 24;
    static final long INVALID = 0xFFFFFFFFFFFFFFFFL;
    static final int INVALID_FRAG = 0xFFFFFFFF;
    static final int INVALID_XATTR = 0xFFFFFFFF;
    static final int DEVICE_BLOCK = 4096;
    static final int MAX_DIR_RUN = 256;

    // compressor ids
    static final int GZIP = 1;
    static final int LZMA = 2;
    static final int LZO = 3;
    static final int XZ = 4;
    static final int LZ4 = 5;
    static final int ZSTD = 6;

    // superblock flags
    static final int NOI = 0x0001;
    static final int NOD = 0x0002;
    static final int NOF = 0x0008;
    static final int NO_FRAG = 0x0010;
    static final int ALWAYS_FRAG = 0x0020;
    static final int DUPLICATES = 0x0040;
    static final int EXPORT = 0x0080;
    static final int NOX = 0x0100;
    static final int NO_XATTR = 0x0200;
    static final int COMP_OPT = 0x0400;
    static final int NOID = 0x0800;

    // inode types
    static final int DIR = 1;
    static final int FILE = 2;
    static final int SYMLINK = 3;
    static final int LDIR = 8;
    static final int LREG = 9;
    static final int LSYMLINK = 10;

    private SquashfsOnDisk() {}

    static int compressorId(String codec) {
        return switch (codec) {
            case "gzip", "none" -> GZIP;
            case "xz" -> XZ;
            case "lz4" -> LZ4;
            case "zstd" -> ZSTD;
            default -> throw new IllegalArgumentException("no SquashFS compressor id for " + codec);
        };
    }

    static String compressorName(int id) {
        return switch (id) {
            case GZIP -> "gzip";
            case LZMA -> "lzma";
            case LZO -> "lzo";
            case XZ -> "xz";
            case LZ4 -> "lz4";
            case ZSTD -> "zstd";
            default -> "unknown(" + id + ")";
        };
    }

    static void putShort(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
    }

    static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }

    static void putLong(byte[] b, int i, long v) {
        putInt(b, i, (int) v);
        putInt(b, i + 4, (int) (v >>> 32));
    }

    static int getShort(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8;
    }

    static int getInt(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    static long getLong(byte[] b, int i) {
        return (getInt(b, i) & 0xffffffffL) | ((long) getInt(b, i + 4)) << 32;
    }
}
