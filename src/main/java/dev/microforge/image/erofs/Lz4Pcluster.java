package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.lz4.Lz4Compressor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** LZ4 (lz4 and lz4hc) physical clusters: LZ4 blocks obeying the format's end rules, the default 64 KiB window. */
final class Lz4Pcluster implements PclusterCompressor {
    private final Lz4Compressor lz4;

    private Lz4Pcluster(Lz4Compressor lz4) {
        this.lz4 = lz4;
    }

    static Lz4Pcluster fast() {
        return new Lz4Pcluster(Lz4Compressor.fast());
    }

    static Lz4Pcluster hc(int level) {
        return new Lz4Pcluster(Lz4Compressor.hc(level));
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
        long r = lz4.compressDestSize(src, off, len, dst, dstOff, dstCap);
        return PclusterCompressor.result(Lz4Compressor.consumed(r), Lz4Compressor.produced(r));
    }
}
