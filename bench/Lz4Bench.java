import dev.microforge.image.lz4.Lz4Compressor;
import dev.microforge.image.lz4.Lz4Decompressor;
import dev.microforge.image.lz4.Lz4Fast;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Single-thread microbenchmark of microforge's pure-Java LZ4 (run by bench/lz4-bench.sh as a source-file
 * program against target/microforge.jar). For each sample file and each mode prints one line:
 *
 * <pre>
 *   file mode cpu_seconds input_bytes output_bytes [clusters]
 * </pre>
 *
 * Modes: {@code block-L} compresses the file in independent 4 MiB blocks (what the lz4 CLI does by default)
 * at level L (0 = fast); {@code sqfs-0} does the same with {@link Lz4Fast} (liblz4's parse, what the SquashFS
 * writer uses for lz4; its blocks are those of {@code lz4 -1}); {@code dest-L} fills 4 KiB clusters with compressDestSize from 1 MiB segments, as
 * ErofsWriter does (a cluster whose input does not exceed 4 KiB is stored plain, as mkfs.erofs does). CPU time is
 * the thread's CPU time of the best of {@code reps} passes, after one untimed warm-up pass; every output is
 * decoded and compared once, so a wrong block fails the benchmark.
 */
public final class Lz4Bench {
    static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        int reps = Integer.parseInt(args[0]);
        String[] modes = args[1].split(",");
        for (int a = 2; a < args.length; a++) {
            byte[] in = Files.readAllBytes(Path.of(args[a]));
            String name = Path.of(args[a]).getFileName().toString();
            for (String mode : modes) {
                String[] mp = mode.split("-");
                int level = Integer.parseInt(mp[1]);
                Lz4Compressor c = level == 0 ? Lz4Compressor.fast() : Lz4Compressor.hc(level);
                Lz4Fast f = new Lz4Fast();
                BlockCompressor bc = mp[0].equals("sqfs") ? f::compress : c::compress;
                long[] r = mp[0].equals("dest") ? dest(c, in, true) : block(bc, in, true);
                long best = Long.MAX_VALUE;
                for (int i = 0; i < reps; i++) {
                    long t0 = MX.getCurrentThreadCpuTime();
                    long[] r2 = mp[0].equals("dest") ? dest(c, in, false) : block(bc, in, false);
                    best = Math.min(best, MX.getCurrentThreadCpuTime() - t0);
                    if (!Arrays.equals(r, r2)) {
                        throw new AssertionError("not deterministic: " + name + " " + mode);
                    }
                }
                System.out.printf("%s %s %.4f %d %d %d%n", name, mode, best / 1e9, in.length, r[0], r[1]);
            }
        }
    }

    interface BlockCompressor {
        int compress(byte[] src, int off, int len, byte[] dst, int dstOff, int cap);
    }

    /** Independent 4 MiB blocks: {compressed bytes, blocks}. */
    static long[] block(BlockCompressor c, byte[] in, boolean check) throws Exception {
        final int bs = 4 << 20;
        byte[] out = new byte[Lz4Compressor.maxCompressedLength(bs)];
        byte[] back = new byte[bs];
        long total = 0;
        long n = 0;
        for (int p = 0; p < in.length; p += bs) {
            int len = Math.min(bs, in.length - p);
            int k = c.compress(in, p, len, out, 0, out.length);
            if (check) {
                Lz4Decompressor.decompress(out, 0, k, back, 0, len);
                if (!Arrays.equals(back, 0, len, in, p, p + len)) {
                    throw new AssertionError("round trip differs at block " + n);
                }
            }
            total += k;
            n++;
        }
        return new long[] {total, n};
    }

    /** 4 KiB destSize clusters from 1 MiB segments: {bytes on disk, clusters}. */
    static long[] dest(Lz4Compressor c, byte[] in, boolean check) throws Exception {
        final int seg = 1 << 20;
        final int cl = 4096;
        byte[] out = new byte[cl];
        byte[] back = new byte[1 << 20];
        long clusters = 0;
        for (int s = 0; s < in.length; s += seg) {
            int end = Math.min(in.length, s + seg);
            int pos = s;
            while (pos < end) {
                long res = c.compressDestSize(in, pos, end - pos, out, 0, cl);
                int consumed = Lz4Compressor.consumed(res);
                int produced = Lz4Compressor.produced(res);
                if (produced > cl) {
                    throw new AssertionError("destSize overflow");
                }
                if (check) {
                    Lz4Decompressor.decompress(out, 0, produced, back, 0, consumed);
                    if (!Arrays.equals(back, 0, consumed, in, pos, pos + consumed)) {
                        throw new AssertionError("destSize round trip differs at " + pos);
                    }
                }
                pos += consumed > cl ? consumed : Math.min(cl, end - pos);
                clusters++;
            }
        }
        return new long[] {clusters * cl, clusters};
    }
}
