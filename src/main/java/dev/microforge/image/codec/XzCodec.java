package dev.microforge.image.codec;

import dev.microforge.image.CorruptImageException;
import dev.microforge.util.UserError;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.tukaani.xz.ArrayCache;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.FilterOptions;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.X86Options;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * xz streams with CRC32 checks, as mksquashfs -comp xz writes them (and the kernel's xz_dec reads them): one
 * LZMA2 filter at a preset level, dictionary size = the block size, optionally preceded by the x86 BCJ filter
 * (mksquashfs -Xbcj x86).
 *
 * <p>Defaults, chosen per block from its bytes when no level is given ({@link #newDefaultCompressor}): x86
 * machine code gets the BCJ filter and level 4; text and tables (order-0 entropy from {@link #SPARSE_ENTROPY}
 * to {@link #DENSE_ENTROPY} bits per byte) get level 6, mksquashfs' level; blocks outside that band (sparse
 * data below it, binary data above it) get level 3, xz's fast mode, which comes within a few tenths of a
 * percent of level 6 on them for a fraction of its CPU. Blocks too short to judge (metadata) get level 6.
 * mksquashfs uses level 6 without BCJ for every block. On a closure with x86-64 code the image is about 2%
 * smaller than mksquashfs' for less CPU: BCJ turns relative call/jump targets into absolute ones, which
 * repeat, and wins back more than the shorter match search loses; on text and data it is within half a percent
 * of mksquashfs' size. An explicit {@code --level N} uses preset N for every block;
 * {@code --level 6 --xz-bcj none} gives mksquashfs' exact settings.
 */
public final class XzCodec implements Codec {
    /** Decoder memory limit: a 1 MiB dictionary needs about 1 MiB; anything claiming far more is corrupt. */
    private static final int MEMORY_LIMIT_KIB = 64 * 1024;

    /** When the x86 BCJ filter goes before LZMA2. */
    public enum Bcj {
        /** Blocks that look like x86 machine code ({@link #looksLikeX86}). */
        AUTO,
        /** Every block (as mksquashfs -Xbcj x86 would choose for code-only images). */
        X86,
        /** Never (as mksquashfs without -Xbcj). */
        NONE;

        public static final List<String> NAMES = List.of("auto", "x86", "none");

        public static Bcj named(String name) {
            return switch (name) {
                case "auto" -> AUTO;
                case "x86" -> X86;
                case "none" -> NONE;
                default -> throw new UserError("--xz-bcj " + name + " is not one of " + String.join(", ", NAMES));
            };
        }
    }

    /** The squashfs xz compressor-options flag of the x86 BCJ filter (mksquashfs, squashfs-tools-ng). */
    public static final int FLAG_X86 = 0x0001;

    private final Bcj bcj;

    /** BCJ where blocks look like x86 code ({@link Bcj#AUTO}). */
    public XzCodec() {
        this(Bcj.AUTO);
    }

    public XzCodec(Bcj bcj) {
        this.bcj = bcj;
    }

    public Bcj bcj() {
        return bcj;
    }

    @Override
    public String name() {
        return "xz";
    }

    @Override
    public int defaultLevel() {
        return 4;
    }

    @Override
    public void checkLevel(int level) {
        Codec.checkRange("xz", level, 0, 9);
    }

    /** The dictionary size for a block size (as mksquashfs: the block size; at least xz's minimum). */
    public static int dictSize(int blockSize) {
        return Math.max(blockSize, LZMA2Options.DICT_SIZE_MIN);
    }

    /**
     * Non-code blocks whose order-0 entropy is below this many bits per byte (sparse data: zero-filled tables,
     * padding, a few distinct values) get {@link #FAST_LEVEL}: level 6's optimal parse costs up to 15x the fast
     * parser's CPU on them for a few percent of their small compressed size.
     */
    static final double SPARSE_ENTROPY = 4.0;
    /**
     * Non-code blocks whose order-0 entropy is from {@link #SPARSE_ENTROPY} up to this many bits per byte (text,
     * source, tables, catalogs) get {@link #DENSE_LEVEL}: on them level 4 is 3-10% and fast mode 5-18% larger
     * than level 6. Above it (binary data, images, partly compressed files) fast mode is within 0.1-1%.
     */
    static final double DENSE_ENTROPY = 7.0;
    /** The level of text-like blocks and of blocks too short to judge: mksquashfs' (xz's default preset). */
    static final int DENSE_LEVEL = 6;
    /** The level of x86 code (with BCJ). */
    static final int CODE_LEVEL = 4;
    /** The level of sparse and of binary blocks: preset 3, fast mode with the HC4 match finder. */
    static final int FAST_LEVEL = 3;

    /**
     * The preset the default policy gives a non-code block: {@link #DENSE_LEVEL} for text-like entropy and for
     * blocks too short to measure ({@code entropy} NaN), else {@link #FAST_LEVEL}.
     */
    static int defaultLevel(double entropy) {
        return Double.isNaN(entropy) || entropy >= SPARSE_ENTROPY && entropy < DENSE_ENTROPY ? DENSE_LEVEL : FAST_LEVEL;
    }

    private static LZMA2Options options(int level, int blockSize) {
        try {
            LZMA2Options opts = new LZMA2Options(level);
            opts.setDictSize(dictSize(blockSize));
            return opts;
        } catch (UnsupportedOptionsException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public Compressor newCompressor(int level, int blockSize) {
        checkLevel(level);
        return compressor(level, blockSize);
    }

    /**
     * Without a level, per block: x86 code with BCJ at {@link #CODE_LEVEL}; other blocks at the level of
     * {@link #defaultLevel(double)}. How this policy was chosen against level 6 without BCJ
     * (mksquashfs' setting): docs/benchmarks.md, session 6.
     */
    @Override
    public Compressor newDefaultCompressor(int blockSize) {
        return compressor(-1, blockSize);
    }

    /** A compressor at {@code level} for every block, or ({@code level} -1) the per-block default policy. */
    private Compressor compressor(int level, int blockSize) {
        FilterOptions[][] plain = new FilterOptions[10][];
        FilterOptions[][] withBcj = new FilterOptions[10][];
        for (int l : level >= 0 ? new int[] {level} : new int[] {FAST_LEVEL, CODE_LEVEL, DENSE_LEVEL}) {
            LZMA2Options opts = options(l, blockSize);
            plain[l] = new FilterOptions[] {opts};
            withBcj[l] = new FilterOptions[] {new X86Options(), opts};
        }
        ArrayCache cache = new BasicArrayCache();
        BoundedOut sink = new BoundedOut();
        Precheck precheck = new Precheck(blockSize);
        return (src, off, len, dst) -> {
            // blocks too short to judge (metadata) are not measured (NaN): never incompressible; AUTO gives
            // them no BCJ (looksLikeX86)
            double entropy = len >= Precheck.MIN_LENGTH ? precheck.entropy(src, off, len) : Double.NaN;
            if (precheck.incompressible(src, off, len, entropy)) {
                return -1;
            }
            boolean x86 = bcj == Bcj.X86 || bcj == Bcj.AUTO && looksLikeX86(src, off, len);
            FilterOptions[] filters = level >= 0 ? (x86 ? withBcj : plain)[level]
                    : x86 ? withBcj[CODE_LEVEL] : plain[defaultLevel(entropy)];
            sink.reset(dst, len - 1);
            try {
                XZOutputStream xz = new XZOutputStream(sink, filters, XZ.CHECK_CRC32, cache);
                xz.write(src, off, len);
                xz.close(); // finishes the stream and returns the encoder's arrays to the cache
            } catch (Full e) {
                return -1;
            } catch (IOException e) {
                throw new IllegalStateException("xz compression failed", e);
            }
            return sink.n;
        };
    }

    @Override
    public Decompressor newDecompressor() {
        ArrayCache cache = new BasicArrayCache();
        return (src, off, len, dst, dstOff, maxLen) -> {
            int n = 0;
            try (XZInputStream in = new XZInputStream(new ByteArrayInputStream(src, off, len), MEMORY_LIMIT_KIB, true, cache)) {
                while (n < maxLen) {
                    int k = in.read(dst, dstOff + n, maxLen - n);
                    if (k < 0) {
                        return n;
                    }
                    n += k;
                }
                if (in.read() >= 0) {
                    throw new CorruptImageException("xz: block expands beyond " + maxLen + " bytes");
                }
                return n;
            } catch (CorruptImageException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new CorruptImageException("xz: " + e.getMessage());
            }
        };
    }

    /** Blocks shorter than this never get BCJ (metadata blocks, small fragments: too little to tell). */
    static final int BCJ_MIN_LENGTH = 16 * 1024;

    /**
     * Whether a block looks like linked x86 machine code, where the BCJ filter pays: at least 1 in 128 of its
     * bytes start a CALL or JMP rel32 (opcode E8 or E9) whose displacement is small (top byte 00 or FF) but not
     * 0. Linked x86-64 .text has 1-2 such positions per 100 bytes; text, tables and compressed data far fewer.
     * Displacement 0 is left out: it is the unrelocated call of an object file (.o, .a), where BCJ makes the
     * block larger. How well this predicts the better choice: docs/benchmarks.md, "What closed xz".
     * Deterministic: depends only on the block's bytes.
     */
    public static boolean looksLikeX86(byte[] src, int off, int len) {
        if (len < BCJ_MIN_LENGTH) {
            return false;
        }
        int need = len >>> 7;
        int found = 0;
        for (int i = off, end = off + len - 4; i < end; i++) {
            if ((src[i] & 0xfe) == 0xe8) {
                int top = src[i + 4];
                if (top == -1 || top == 0 && (src[i + 1] | src[i + 2] | src[i + 3]) != 0) {
                    if (++found >= need) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * A cheap test for blocks xz cannot shrink (compressed files: .gz, .xz, .png, ...), which would otherwise
     * cost a full LZMA2 pass (about 100x this test) only to be stored raw. A block counts as incompressible when
     * its order-0 entropy is above {@link #MIN_ENTROPY} bits per byte (literal coding gains next to nothing) and
     * repeats of {@link #WINDOW} bytes or more, at any distance within the block, cover less than 1% of it
     * (matches gain next to nothing). Such a block is stored raw; xz would have saved well under 1% of it.
     * Deterministic: depends only on the block's bytes.
     */
    static final class Precheck {
        static final int MIN_LENGTH = 16 * 1024;
        static final double MIN_ENTROPY = 7.97;
        /**
         * Repeats are found through windows of this many bytes, anchored every {@link #STEP} bytes. 8: shorter
         * than the 10-byte gzip headers a fragment block of small .gz files repeats, which xz shrinks by about 1%
         * (docs/benchmarks.md, "Figures behind code comments").
         */
        static final int WINDOW = 8;
        static final int STEP = 32;
        private static final VarHandle LONGS =
                MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
        private final int[] hist = new int[256];
        private int[] anchors;

        Precheck(int blockSize) {
            anchors = new int[Integer.highestOneBit(Math.max(blockSize / STEP, 1 << 10)) * 2];
        }

        boolean incompressible(byte[] src, int off, int len) {
            return len >= MIN_LENGTH && incompressible(src, off, len, entropy(src, off, len));
        }

        /** As {@link #incompressible(byte[], int, int)}, with the block's entropy already known. */
        boolean incompressible(byte[] src, int off, int len, double entropy) {
            return len >= MIN_LENGTH && entropy >= MIN_ENTROPY && repeated(src, off, len) < len / 100;
        }

        /** Order-0 entropy in bits per byte. */
        double entropy(byte[] src, int off, int len) {
            Arrays.fill(hist, 0);
            for (int i = off, end = off + len; i < end; i++) {
                hist[src[i] & 0xff]++;
            }
            double sum = 0;
            for (int c : hist) {
                if (c > 0) {
                    sum += c * Math.log(c);
                }
            }
            return (Math.log(len) - sum / len) / Math.log(2);
        }

        private static int hash(byte[] b, int i, int mask) {
            long x = (long) LONGS.get(b, i) * 0x9E3779B97F4A7C15L;
            return (int) (x ^ x >>> 29 ^ x >>> 41) & mask;
        }

        /**
         * About how many bytes repeat other bytes of the block, counted until 1% of it (a repeat of at least
         * {@code WINDOW + STEP} bytes is found unless table hashes collide; shorter ones when they recur often): windows at every {@code STEP}th
         * position go into a table, then every position's window is looked up and checked byte for byte.
         */
        int repeated(byte[] src, int off, int len) {
            int mask = anchors.length - 1;
            if (len / STEP > anchors.length) {
                anchors = new int[Integer.highestOneBit(len / STEP) * 2];
                mask = anchors.length - 1;
            }
            Arrays.fill(anchors, -1);
            int last = off + len - WINDOW;
            for (int i = off; i <= last; i += STEP) {
                anchors[hash(src, i, mask)] = i;
            }
            int covered = 0;
            int limit = len / 100;
            for (int i = off; i <= last; ) {
                int a = anchors[hash(src, i, mask)];
                if (a >= 0 && a != i && Arrays.equals(src, a, a + WINDOW, src, i, i + WINDOW)) {
                    covered += STEP;
                    if (covered >= limit) {
                        return covered;
                    }
                    i += STEP;
                } else {
                    i++;
                }
            }
            return covered;
        }
    }

    private static final class Full extends IOException {
        private static final long serialVersionUID = 1L;

        Full() {
            super("full", null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** Writes into a fixed array; throws {@link Full} when it would overflow. */
    private static final class BoundedOut extends OutputStream {
        private static final Full FULL = new Full();
        byte[] buf;
        int limit;
        int n;

        void reset(byte[] buf, int limit) {
            this.buf = buf;
            this.limit = limit;
            this.n = 0;
        }

        @Override
        public void write(int b) throws IOException {
            if (n >= limit) {
                throw FULL;
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > limit - n) {
                throw FULL;
            }
            System.arraycopy(b, off, buf, n, len);
            n += len;
        }
    }
}
