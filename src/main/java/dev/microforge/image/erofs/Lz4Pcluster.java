package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.lz4.Lz4Compressor;
import dev.microforge.image.lz4.Lz4Fast;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * LZ4 (lz4 and lz4hc) physical clusters: LZ4 blocks obeying the format's end rules, the default 64 KiB window. lz4
 * uses liblz4's destSize parse ({@link Lz4Fast#compressDestSize}) with a table of 2^{@value #FAST_HASH_LOG}
 * entries, which finds more matches than liblz4's 4096 (docs/lz4.md); lz4hc uses {@link Lz4Compressor#hc}.
 */
final class Lz4Pcluster implements PclusterCompressor {
    static final int FAST_HASH_LOG = 14;

    /** One of the two is set. */
    private final Lz4Compressor hc;
    private final Lz4Fast fast;

    private Lz4Pcluster(Lz4Compressor hc, Lz4Fast fast) {
        this.hc = hc;
        this.fast = fast;
    }

    static Lz4Pcluster fast() {
        return new Lz4Pcluster(null, new Lz4Fast(FAST_HASH_LOG));
    }

    static Lz4Pcluster hc(int level) {
        return new Lz4Pcluster(Lz4Compressor.hc(level), null);
    }

    @Override
    public int algorithm() {
        return COMPRESSION_LZ4;
    }

    /** {@code z_erofs_lz4_cfgs}: max_distance 0 (the default 64 KiB window), max_pclusterblks, 10 reserved bytes. */
    @Override
    public byte[] config(int maxPclusterBytes) {
        byte[] c = new byte[14];
        ByteBuffer b = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) 0);
        b.putShort(2, (short) (maxPclusterBytes / BLOCK_SIZE));
        return c;
    }

    @Override
    public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        long r = fast != null ? fast.compressDestSize(src, off, len, dst, dstOff, dstCap)
                : hc.compressDestSize(src, off, len, dst, dstOff, dstCap);
        return PclusterCompressor.result(Lz4Compressor.consumed(r), Lz4Compressor.produced(r));
    }
}
