package dev.microforge.image.erofs.compress;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import com.github.luben.zstd.EndDirective;
import dev.microforge.image.CorruptImageException;
import java.nio.ByteBuffer;

/**
 * Zstandard physical clusters (zstd-jni, the reference library): one zstd frame per pcluster, no checksum, the
 * content size in the header, a window of at most the configured size ({@code windowLog} is set on the encoder,
 * so a frame larger than the window carries a window descriptor within it). The frame's magic number makes the
 * first byte 0x28, never zero. The kernel (6.10+, {@code decompressor_zstd.c}) decodes with a stream decoder
 * sized for the configured window and refuses a frame that ends before the extent's length.
 */
final class ZstdPcluster {
    private ZstdPcluster() {
    }

    /**
     * Sets up a new frame: the level, no checksum, no dictionary id, the window, and the content size or not.
     * {@code sourceBytes} above 0: the compression parameters zstd picks at this level for a source of that
     * size (at most 256 KiB), set explicitly, whatever size is pledged later (see {@link #TIERS}); at level 15
     * and at most 128 KiB, {@link #STREAM_15}.
     */
    static void frame(ZstdCompressCtx ctx, int level, int windowLog, boolean contentSize, int sourceBytes) {
        ctx.setLevel(level);
        ctx.setChecksum(false);
        ctx.setContentSize(contentSize);
        ctx.setDictID(false);
        ctx.setWindowLog(windowLog);
        if (sourceBytes > 0 && sourceBytes <= 256 << 10) {
            boolean small = sourceBytes <= 128 << 10;
            int[] p = small && level == 15 ? STREAM_15 : TIERS[small ? 0 : 1][Math.max(1, Math.min(level, 22))];
            ctx.setChainLog(p[0]);
            ctx.setHashLog(p[1]);
            ctx.setSearchLog(p[2]);
            ctx.setMinMatch(p[3]);
            ctx.setTargetLength(p[4]);
            ctx.setStrategy(p[5]);
        }
    }

    /**
     * zstd's compression parameters per level (index 1..22) for sources of at most 128 KiB and at most 256 KiB:
     * {chainLog, hashLog, searchLog, minMatch, targetLength, strategy (1 fast .. 7 btopt, 8 btultra, 9 btultra2)},
     * the values of zstd 1.5's {@code lib/compress/clevels.h} (its window log is replaced by the configured one).
     * A pcluster stream pledges up to {@link StreamCompressor#PLEDGE_RATIO} pclusters of input, for which zstd
     * would pick its parameters for sources over 256 KiB (at level 15: btlazy2, minMatch 5, 1.048x the bytes of
     * 128 KiB blocks on the bench corpus); with these a 128 KiB pcluster is compressed as mksquashfs' 128 KiB
     * blocks are (btopt at level 15: 0.985x their bytes, in the same time as btlazy2).
     */
    private static final int[][][] TIERS = {
        { // srcSize <= 128 KB
            null,
            {12, 13, 1, 6, 0, 1}, {13, 15, 1, 5, 0, 1}, {15, 16, 2, 5, 0, 2}, {17, 17, 2, 4, 0, 2}, {16, 17, 3, 4, 2, 3},
            {16, 17, 3, 4, 4, 4}, {16, 17, 3, 4, 8, 5}, {16, 17, 4, 4, 8, 5}, {16, 17, 5, 4, 8, 5}, {16, 17, 6, 4, 8, 5},
            {17, 17, 5, 4, 8, 6}, {18, 17, 7, 4, 12, 6}, {18, 17, 3, 4, 12, 7}, {18, 17, 4, 3, 32, 7}, {18, 17, 6, 3, 256, 7},
            {18, 17, 6, 3, 128, 8}, {18, 17, 8, 3, 256, 8}, {18, 17, 10, 3, 512, 8}, {18, 17, 5, 3, 256, 9}, {18, 17, 7, 3, 512, 9},
            {18, 17, 9, 3, 512, 9}, {18, 17, 11, 3, 999, 9},
        },
        { // srcSize <= 256 KB
            null,
            {13, 14, 1, 6, 0, 1}, {14, 14, 1, 5, 0, 2}, {16, 16, 1, 4, 0, 2}, {16, 17, 3, 5, 2, 3}, {17, 18, 5, 5, 2, 3},
            {18, 19, 3, 5, 4, 4}, {18, 19, 4, 4, 4, 4}, {18, 19, 4, 4, 8, 5}, {18, 19, 5, 4, 8, 5}, {18, 19, 6, 4, 8, 5},
            {18, 19, 5, 4, 12, 6}, {19, 19, 7, 4, 12, 6}, {18, 19, 4, 4, 16, 7}, {18, 19, 4, 3, 32, 7}, {18, 19, 6, 3, 128, 7},
            {19, 19, 6, 3, 128, 8}, {19, 19, 8, 3, 256, 8}, {19, 19, 6, 3, 128, 9}, {19, 19, 8, 3, 256, 9}, {19, 19, 10, 3, 512, 9},
            {19, 19, 12, 3, 512, 9}, {19, 19, 13, 3, 999, 9},
        },
    };

    /**
     * Level 15 for pclusters of at most 128 KiB: btopt as zstd's 128 KiB row, with searchLog 1 and targetLength
     * 12 (zstd: 6 and 256). A pcluster stream compresses each input byte about 1.1 times (the dropped chunk) in
     * 5-6 flushed blocks; with this row it takes 0.57x the CPU of one-shot 128 KiB blocks at level 15 (what
     * mksquashfs does) for 1.007x their bytes, where zstd's row takes 1.05x the CPU for 0.982x the bytes
     * (stride sample of the bench corpus; full corpus 1.021x mksquashfs' bytes at 0.95x its CPU,
     * docs/benchmarks.md).
     */
    private static final int[] STREAM_15 = {18, 17, 1, 3, 12, 7};

    static final class Compressor extends FitSearch {
        private final ZstdCompressCtx ctx = new ZstdCompressCtx();

        Compressor(int level, AlgorithmConfig cfg) {
            super(3.0, 8);
            frame(ctx, level, Integer.numberOfTrailingZeros(cfg.window()), true, 0);
        }

        @Override
        public ErofsAlgorithm algorithm() {
            return ErofsAlgorithm.ZSTD;
        }

        /** Stored raw, zstd adds at most 18 bytes of frame header and 3 per 128 KiB block (and 3 to close). */
        @Override
        public int wholeFitLimit(int dstCap) {
            return Math.max(0, dstCap - 64);
        }

        @Override
        int trial(byte[] src, int off, int len, byte[] out, int outCap) {
            try {
                return ctx.compressByteArray(out, 0, outCap, src, off, len);
            } catch (ZstdException e) {
                if (e.getErrorCode() == com.github.luben.zstd.Zstd.errDstSizeTooSmall()) {
                    return -1;
                }
                throw new IllegalStateException("zstd: " + e.getMessage(), e);
            }
        }
    }

    /**
     * One pass per pcluster: the input goes into a streaming frame in chunks, each flushed as its own block, the
     * first chunk as long as the capacity less a margin for the headers, each later one sized (by the ratio so far) to fill half of the room
     * left; the first chunk whose blocks overflow the capacity is dropped (the stream is cut before it) and the
     * frame is closed with an empty last block (3 bytes). The search stops when less than
     * {@code cap >> toleranceShift} bytes are left. So each input byte is compressed about once (plus the dropped
     * chunk, which the next pcluster compresses again), where a search by whole trials compresses it 3 to 5
     * times. The frame carries no content size (the kernel and our reader do not need it). When even the first
     * chunk overflows (data that does not compress) the trial search takes over.
     */
    static final class StreamCompressor implements DestSizeCompressor {
        private static final int END_BLOCK = 3;
        private static final int FIRST_CHUNK_MARGIN = 64;
        /** Capacities from which the stream is used; below it the block overhead of the flushes costs over 2%. */
        static final int STREAM_MIN_CAP = 64 << 10;
        /** At most this many times the capacity is consumed per pcluster (the size pledged to zstd). */
        static final int PLEDGE_RATIO = 4;
        private final ZstdCompressCtx ctx = new ZstdCompressCtx();
        private final int level;
        private final int windowLog;
        private final int toleranceShift;
        private final Compressor fallback;
        private ByteBuffer in = ByteBuffer.allocateDirect(0);
        private ByteBuffer out = ByteBuffer.allocateDirect(0);

        StreamCompressor(int level, AlgorithmConfig cfg, int toleranceShift) {
            this.level = level;
            this.windowLog = Integer.numberOfTrailingZeros(cfg.window());
            this.toleranceShift = toleranceShift;
            this.fallback = new Compressor(level, cfg);
        }

        @Override
        public ErofsAlgorithm algorithm() {
            return ErofsAlgorithm.ZSTD;
        }

        /** Stored raw, zstd adds at most 18 bytes of frame header and 3 per 128 KiB block (and 3 to close). */
        @Override
        public int wholeFitLimit(int dstCap) {
            return Math.max(0, dstCap - 64);
        }

        @Override
        public long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
            if (off < 0 || len < 0 || off + len > src.length || off + len < 0 || dstOff < 0 || dstCap < 0 || dstOff + dstCap > dst.length
                    || dstOff + dstCap < 0) {
                throw new IndexOutOfBoundsException("source or destination range");
            }
            if (len == 0 || dstCap < STREAM_MIN_CAP) {
                return fallback.compressDestSize(src, off, len, dst, dstOff, dstCap);
            }
            int pledge = (int) Math.min(len, (long) dstCap * PLEDGE_RATIO);
            if (in.capacity() < pledge) {
                in = ByteBuffer.allocateDirect(Math.max(pledge, in.capacity() * 2));
            }
            int outCap = dstCap * 2 + 1024;
            if (out.capacity() < outCap) {
                out = ByteBuffer.allocateDirect(outCap);
            }
            in.clear();
            in.put(src, off, pledge);
            in.flip();
            out.clear();
            ctx.reset();
            frame(ctx, level, windowLog, false, dstCap);
            ctx.setPledgedSrcSize(pledge);
            int limit = dstCap - END_BLOCK;
            int tolerance = Math.max(1, dstCap >> toleranceShift);
            int goodIn = 0;
            int goodOut = 0;
            int fed = 0;
            // the first chunk fits even stored raw (zstd's raw blocks add 3 bytes per 128 KiB, the frame header
            // at most 18), so incompressible data costs one compression, not a search
            long chunk = Math.min(pledge, dstCap - FIRST_CHUNK_MARGIN);
            while (true) {
                fed += (int) chunk;
                in.limit(fed);
                while (!ctx.compressDirectByteBufferStream(out, in, EndDirective.FLUSH)) {
                    if (!out.hasRemaining()) {
                        break;
                    }
                }
                int produced = out.position();
                if (produced > limit || (in.hasRemaining() && !out.hasRemaining())) {
                    break;
                }
                goodIn = fed;
                goodOut = produced;
                int room = limit - produced;
                if (fed == pledge || room < tolerance) {
                    break;
                }
                chunk = Math.min(pledge - fed, Math.max(1, (long) room * goodIn / goodOut / 2));
            }
            if (goodIn == 0) {
                return fallback.compressDestSize(src, off, len, dst, dstOff, dstCap);
            }
            out.get(0, dst, dstOff, goodOut);
            // an empty raw block with Last_Block set: header bits 0 (last), 1-2 (type 0 = raw), 3.. (size 0)
            dst[dstOff + goodOut] = 1;
            dst[dstOff + goodOut + 1] = 0;
            dst[dstOff + goodOut + 2] = 0;
            return DestSizeCompressor.result(goodIn, goodOut + END_BLOCK);
        }
    }

    static final class Decoder implements PclusterDecoder {
        private final ZstdDecompressCtx ctx = new ZstdDecompressCtx();
        private final long window;

        Decoder(AlgorithmConfig cfg) {
            this.window = cfg.window();
        }

        @Override
        public void decode(byte[] src, int off, int len, byte[] dst, int dstOff, int outLen) throws CorruptImageException {
            long w = frameWindow(src, off, len);
            if (w > window) {
                throw new CorruptImageException("zstd: frame window of " + w + " bytes is over the configured " + window);
            }
            int n;
            try {
                n = ctx.decompressByteArray(dst, dstOff, outLen, src, off, len);
            } catch (ZstdException | ArrayIndexOutOfBoundsException e) {
                throw new CorruptImageException("zstd: " + e.getMessage());
            }
            if (n != outLen) {
                throw new CorruptImageException("zstd: frame decodes to " + n + " bytes, the extent has " + outLen);
            }
        }

        /** The window a frame asks for (RFC 8878 3.1.1.1): its window descriptor, or its content size. */
        static long frameWindow(byte[] b, int off, int len) throws CorruptImageException {
            if (len < 6 || (b[off] & 0xFF) != 0x28 || (b[off + 1] & 0xFF) != 0xB5 || (b[off + 2] & 0xFF) != 0x2F || (b[off + 3] & 0xFF) != 0xFD) {
                throw new CorruptImageException("zstd: no frame header (" + len + " bytes)");
            }
            int fhd = b[off + 4] & 0xFF;
            boolean single = (fhd & 0x20) != 0;
            if (!single) {
                int wd = b[off + 5] & 0xFF;
                long base = 1L << (10 + (wd >>> 3));
                return base + (base >>> 3) * (wd & 7);
            }
            int didSize = new int[] {0, 1, 2, 4}[fhd & 3];
            int fcsCode = fhd >>> 6;
            int fcsSize = new int[] {1, 2, 4, 8}[fcsCode];
            int p = off + 5 + didSize;
            if (p + fcsSize > off + len) {
                throw new CorruptImageException("zstd: frame header longer than the cluster");
            }
            long fcs = 0;
            for (int i = fcsSize - 1; i >= 0; i--) {
                fcs = fcs << 8 | (b[p + i] & 0xFF);
            }
            return fcsCode == 1 ? fcs + 256 : fcs < 0 ? Long.MAX_VALUE : fcs;
        }
    }
}
