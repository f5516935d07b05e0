package dev.microforge.image.erofs.compress;

/**
 * Destination-size compression for codecs that can only compress a whole input: finds a long input prefix whose
 * compressed stream fits the capacity by trial compressions of prefixes.
 *
 * <p>The search is a pure function of the call's input (never of earlier calls, so the bytes do not depend on
 * which thread compressed what before): the first trial compresses {@code min(len, cap * firstRatio)} bytes; each
 * later trial moves the prefix by the secant through the last measured size towards {@code cap - tolerance / 2},
 * kept inside the bracket (the longest prefix known to fit, the shortest known not to), with bisection when a
 * trial's size is unknown (it overflowed the scratch buffer). It stops when a fitting trial leaves less than
 * {@code tolerance} bytes unused, when the whole input fits, when the bracket closes, or after
 * {@link #MAX_TRIALS}; the result is the longest fitting prefix tried. The slack against the true optimum (the
 * longest prefix that fits, found by bisection) is measured by the tests and given in docs/erofs.md.
 */
abstract class FitSearch implements DestSizeCompressor {
    /** At most this many trial compressions per call. */
    static final int MAX_TRIALS = 10;

    private final double firstRatio;
    private final int toleranceShift;
    private byte[] scratch = new byte[0];
    private byte[] best = new byte[0];
    private long trials;
    private long calls;

    /**
     * @param firstRatio the compression ratio the first trial assumes
     * @param toleranceShift a fitting trial is accepted when it leaves fewer than {@code cap >> toleranceShift}
     *     bytes (at least 1) unused
     */
    FitSearch(double firstRatio, int toleranceShift) {
        this.firstRatio = firstRatio;
        this.toleranceShift = toleranceShift;
    }

    /**
     * Compresses all of {@code src[off, off+len)} into {@code out[0, outCap)}; returns the stream's size, or -1
     * when it does not fit in {@code outCap} bytes. The stream must meet EROFS' rules (first byte non-zero).
     */
    abstract int trial(byte[] src, int off, int len, byte[] out, int outCap);

    /**
     * A codec's own first step, before any trial: -1 (the default) for none; {@code m >= 0} for the prefix to
     * try first; {@code -2 - size} when it compressed all of {@code src[off, off+len)} into {@code out} in
     * {@code size <= cap} bytes (the answer).
     */
    long probe(byte[] src, int off, int len, byte[] out, int cap) {
        return -1;
    }

    @Override
    public final long compressDestSize(byte[] src, int off, int len, byte[] dst, int dstOff, int dstCap) {
        if (off < 0 || len < 0 || off + len > src.length || off + len < 0 || dstOff < 0 || dstCap < 0 || dstOff + dstCap > dst.length
                || dstOff + dstCap < 0) {
            throw new IndexOutOfBoundsException("source or destination range");
        }
        calls++;
        if (len == 0 || dstCap == 0) {
            return DestSizeCompressor.result(0, 0);
        }
        int outCap = dstCap * 2 + 64;
        if (scratch.length < outCap) {
            scratch = new byte[outCap];
            best = new byte[outCap];
        }
        int tolerance = Math.max(1, dstCap >> toleranceShift);
        double target = dstCap - tolerance / 2.0;
        long lo = 0;
        int loSize = 0;
        long hi = (long) len + 1;
        int hiSize = -1;
        boolean bisectNext = false;
        long m = Math.min(len, Math.max(1, (long) (dstCap * firstRatio)));
        long p = probe(src, off, len, scratch, dstCap);
        if (p < -1) {
            int size = (int) (-2 - p);
            System.arraycopy(scratch, 0, dst, dstOff, size);
            return DestSizeCompressor.result(len, size);
        }
        if (p >= 0) {
            m = Math.max(1, Math.min(len, p));
        }
        for (int t = 0; t < MAX_TRIALS || lo == 0; t++) {
            trials++;
            int c = trial(src, off, (int) m, scratch, outCap);
            long width = hi - lo;
            if (c >= 0 && c <= dstCap) {
                lo = m;
                loSize = c;
                byte[] swap = best;
                best = scratch;
                scratch = swap;
                if (m == len || dstCap - c < tolerance) {
                    break;
                }
            } else {
                hi = m;
                hiSize = c;
            }
            if (hi <= lo + 1) {
                break;
            }
            long next;
            if (bisectNext) {
                next = (lo + hi) / 2;
            } else if (hiSize > loSize) {
                next = lo + (long) ((target - loSize) * (hi - lo) / (hiSize - loSize));
            } else if (m == lo) {
                next = (long) (lo * target / loSize);
            } else {
                next = (lo + hi) / 2;
            }
            if (next <= lo || next >= hi) {
                next = (lo + hi) / 2;
            }
            // a step that did not halve the bracket is followed by a bisection
            bisectNext = !bisectNext && (hi - lo) * 2 > width;
            m = next;
        }
        if (lo == 0) {
            return DestSizeCompressor.result(0, 0);
        }
        System.arraycopy(best, 0, dst, dstOff, loSize);
        return DestSizeCompressor.result((int) lo, loSize);
    }

    /** Trial compressions per call so far (for measurements). */
    public final double trialsPerCall() {
        return calls == 0 ? 0 : (double) trials / calls;
    }
}
