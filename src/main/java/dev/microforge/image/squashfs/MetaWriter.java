package dev.microforge.image.squashfs;

import dev.microforge.image.codec.Codec;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A metadata stream (inode table, directory table, lookup tables) chopped into 8 KiB blocks, each compressed
 * (or stored raw when that does not shrink it) behind a 16-bit header. Positions are known as soon as bytes
 * are appended: the current block starts at {@link #blockStart()} (relative to the table start).
 */
final class MetaWriter {
    private final Codec.Compressor compressor;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final byte[] cur = new byte[SquashfsOnDisk.META_SIZE];
    private final byte[] packed = new byte[SquashfsOnDisk.META_SIZE];
    private int curLen;
    private final List<Long> blockStarts = new ArrayList<>();

    MetaWriter(Codec.Compressor compressor) {
        this.compressor = compressor;
    }

    /** Start of the current (unfinished) block, relative to the table start. */
    long blockStart() {
        return out.size();
    }

    /** Offset of the next byte within the current block. */
    int offset() {
        return curLen;
    }

    /** Reference {@code blockStart << 16 | offset} of the next byte. */
    long ref() {
        return blockStart() << 16 | curLen;
    }

    void write(byte[] b, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, SquashfsOnDisk.META_SIZE - curLen);
            System.arraycopy(b, off, cur, curLen, n);
            curLen += n;
            off += n;
            len -= n;
            if (curLen == SquashfsOnDisk.META_SIZE) {
                flushBlock();
            }
        }
    }

    void write(byte[] b) {
        write(b, 0, b.length);
    }

    private void flushBlock() {
        blockStarts.add((long) out.size());
        int n = compressor == null ? -1 : compressor.compress(cur, 0, curLen, packed);
        if (n > 0) {
            out.write(n & 0xff);
            out.write(n >>> 8);
            out.write(packed, 0, n);
        } else {
            int h = curLen | SquashfsOnDisk.META_UNCOMPRESSED;
            out.write(h & 0xff);
            out.write(h >>> 8);
            out.write(cur, 0, curLen);
        }
        curLen = 0;
    }

    /** Flushes the last partial block; returns the table bytes. */
    byte[] finish() {
        if (curLen > 0) {
            flushBlock();
        }
        return out.toByteArray();
    }

    /** Starts of the blocks written so far, relative to the table start. */
    List<Long> blockStarts() {
        return blockStarts;
    }
}
