package dev.microforge.image.source;

import dev.microforge.fs.RegularFile;
import dev.microforge.util.Tasks;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * Finds files with identical bytes, in three steps: the same size, then the same fast checksum (CRC32C, or any
 * 64-bit digest the caller computes while it streams the file), then a byte-for-byte comparison, which alone
 * decides: different files are never merged, whatever the checksum says.
 *
 * <p>Deterministic: files are offered in inode (tree) order, and the first file of each content is its
 * canonical copy; later equal files are its duplicates. A caller that checksums files on several threads
 * offers them in order afterwards ({@link #resolve} does both), so the answer does not depend on the thread
 * count. Not thread-safe.
 *
 * @param <F> the caller's file handle (an inode record, say)
 */
public final class DuplicateFinder<F> {
    /** Compares the bytes of a canonical file with those of a later file of the same size and checksum. */
    @FunctionalInterface
    public interface SameBytes<F> {
        boolean same(F canonical, F later) throws IOException;
    }

    private record Key(long size, long checksum) {}

    private final SameBytes<F> sameBytes;
    private final Map<Key, List<F>> canonical = new HashMap<>();

    public DuplicateFinder(SameBytes<F> sameBytes) {
        this.sameBytes = sameBytes;
    }

    /**
     * The files that may have a duplicate: those of a non-zero size that another file shares ({@code sizes[i]}
     * is file i's size). Only they need a checksum.
     */
    public static boolean[] candidates(long[] sizes) {
        boolean[] c = new boolean[sizes.length];
        Map<Long, Integer> firstOfSize = new HashMap<>();
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == 0) {
                continue;
            }
            Integer prev = firstOfSize.putIfAbsent(sizes[i], i);
            if (prev != null) {
                c[prev] = true;
                c[i] = true;
            }
        }
        return c;
    }

    /**
     * Offers {@code file} (the next in inode order, of {@code size} bytes with {@code checksum}): the earlier
     * file with the same bytes, or empty when there is none, and {@code file} becomes the canonical copy of
     * its bytes.
     */
    public Optional<F> canonicalOf(F file, long size, long checksum) throws IOException {
        return canonicalOf(file, size, checksum, sameBytes);
    }

    /**
     * As {@link #canonicalOf(Object, long, long)}, comparing with {@code compare} this time (say, with the bytes
     * of {@code file} the caller holds in memory).
     */
    public Optional<F> canonicalOf(F file, long size, long checksum, SameBytes<F> compare) throws IOException {
        List<F> same = canonical.computeIfAbsent(new Key(size, checksum), k -> new ArrayList<>(1));
        for (F c : same) {
            if (compare.same(c, file)) {
                return Optional.of(c);
            }
        }
        same.add(file);
        return Optional.empty();
    }

    /** CRC32C of the whole of {@code file}, checking it still has its scanned size. */
    public static long checksum(RegularFile file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 17];
        try (SourceFile in = SourceFile.open(file)) {
            long left = file.size();
            while (left > 0) {
                int n = (int) Math.min(buf.length, left);
                in.readFully(buf, 0, n);
                crc.update(buf, 0, n);
                left -= n;
            }
            in.expectEnd();
        }
        return crc.getValue();
    }

    /** Whether two files of the same scanned size have the same bytes (each checked for its size). */
    public static boolean sameBytes(RegularFile a, RegularFile b) throws IOException {
        if (a.size() != b.size()) {
            return false;
        }
        byte[] x = new byte[1 << 17];
        byte[] y = new byte[1 << 17];
        try (SourceFile in1 = SourceFile.open(a); SourceFile in2 = SourceFile.open(b)) {
            long left = a.size();
            while (left > 0) {
                int n = (int) Math.min(x.length, left);
                in1.readFully(x, 0, n);
                in2.readFully(y, 0, n);
                if (!Arrays.equals(x, 0, n, y, 0, n)) {
                    return false;
                }
                left -= n;
            }
            in1.expectEnd();
            in2.expectEnd();
        }
        return true;
    }

    /**
     * Duplicates among {@code files} (in inode order): {@code result[i]} is the index of file i's canonical
     * copy ({@code i} itself when it has no earlier equal file). Candidates are checksummed on {@code threads}
     * threads; the decisions are taken in order, so the result is the same for any thread count.
     */
    public static int[] resolve(List<RegularFile> files, int threads) throws IOException {
        long[] sizes = new long[files.size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = files.get(i).size();
        }
        boolean[] cand = candidates(sizes);
        List<Future<Long>> sums = new ArrayList<>(files.size());
        ExecutorService pool = Tasks.daemonPool(Math.max(1, threads), "microforge-checksum");
        try {
            for (int i = 0; i < sizes.length; i++) {
                RegularFile f = files.get(i);
                sums.add(cand[i] ? pool.submit(() -> checksum(f)) : null);
            }
            DuplicateFinder<Integer> finder = new DuplicateFinder<>((c, l) -> sameBytes(files.get(c), files.get(l)));
            int[] result = new int[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                result[i] = cand[i] ? finder.canonicalOf(i, sizes[i], Tasks.await(sums.get(i))).orElse(i) : i;
            }
            return result;
        } finally {
            pool.shutdownNow();
        }
    }
}
