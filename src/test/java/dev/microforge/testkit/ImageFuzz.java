package dev.microforge.testkit;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageFs;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A bounded-time mutation fuzzer for image readers, shared by SquashFS and EROFS.
 *
 * <pre>{@code
 * ImageFuzz.Result r = ImageFuzz.reader("squashfs", ImageFormats.byType("squashfs")::open)
 *         .seed(validImage1).seed(validImage2)       // bytes of valid images (small ones: a few 100 KiB)
 *         .budget(Duration.ofSeconds(20))
 *         .run();                                     // AssertionError on the first failing case
 * }</pre>
 *
 * Each case mutates one seed image (bit flips; bytes set to 0, 0xff or random; 16/32/64-bit little-endian
 * fields set to boundary values; truncation; appended garbage; block copies within the image; splices of two
 * seeds), writes it to a file, opens it with the reader and walks it completely: every node's attributes,
 * every directory's children, every symlink target, every file's content (up to a per-file cap, since a
 * valid tiny image may hold a huge sparse file). A case FAILS when the reader
 * <ul>
 * <li>throws anything but an {@link IOException} (which includes {@link CorruptImageException}): a
 * RuntimeException, StackOverflowError, OutOfMemoryError, ...;</li>
 * <li>does not finish within the per-case deadline (a hang or a loop);</li>
 * <li>allocates more than the allocation cap in one case (unbounded allocation driven by image fields,
 * measured per thread, so it is caught before it is an OutOfMemoryError);</li>
 * <li>returns an unsafe name (empty, {@code .}, {@code ..}, containing {@code /} or NUL: extract would
 * write outside its target) or children not in strictly increasing unsigned-byte order, unless
 * {@link #checkNames(boolean)} turns this off;</li>
 * <li>returns a directory graph with more than {@link #maxNodes(int)} nodes: a cycle (or directories shared
 * between parents) that the reader did not refuse; a small seed cannot hold that many entries.</li>
 * </ul>
 * Unmutated seeds must walk without any exception. The failure message gives the master seed, the case
 * number, the case seed and the mutations, and the mutant is kept under {@code target/fuzz-failures/};
 * {@code -Dmicroforge.fuzz.seed=N} replays a run, {@code -Dmicroforge.fuzz.seconds=S} changes the budget.
 */
public final class ImageFuzz {
    /** Opens an image file with the reader under test. */
    @FunctionalInterface
    public interface Opener {
        ImageFs open(Path image) throws IOException;
    }

    /** What a run did. */
    public record Result(long masterSeed, int cases, int rejected, int walked, long bytesRead, Duration elapsed) {
        @Override
        public String toString() {
            return cases + " cases in " + elapsed.toMillis() + " ms (" + rejected + " rejected with IOException, " + walked
                    + " walked cleanly, " + bytesRead + " bytes read), master seed " + masterSeed;
        }
    }

    private final String name;
    private final Opener opener;
    private final List<byte[]> seeds = new ArrayList<>();
    private Duration budget = Duration.ofSeconds(20);
    private Duration perCase = Duration.ofSeconds(10);
    private long allocationCap = 256L << 20;
    private long perFileReadCap = 8L << 20;
    private int maxNodes = 200_000;
    private boolean checkNames = true;
    private Long masterSeed;
    private int maxCases = Integer.MAX_VALUE;

    private ImageFuzz(String name, Opener opener) {
        this.name = name;
        this.opener = opener;
    }

    public static ImageFuzz reader(String name, Opener opener) {
        return new ImageFuzz(name, opener);
    }

    /** A valid image to mutate (at least one). */
    public ImageFuzz seed(byte[] image) {
        seeds.add(image.clone());
        return this;
    }

    public ImageFuzz seed(Path image) throws IOException {
        return seed(Files.readAllBytes(image));
    }

    /** Total time for the mutation loop (default 20 s; {@code -Dmicroforge.fuzz.seconds} overrides). */
    public ImageFuzz budget(Duration d) {
        this.budget = d;
        return this;
    }

    /** Deadline per case (default 10 s: generous, for a machine shared with other builds). */
    public ImageFuzz perCaseDeadline(Duration d) {
        this.perCase = d;
        return this;
    }

    /** Bytes one case may allocate (default 256 MiB). */
    public ImageFuzz allocationCap(long bytes) {
        this.allocationCap = bytes;
        return this;
    }

    /** Bytes read from one file before moving on (default 8 MiB; not a failure). */
    public ImageFuzz perFileReadCap(long bytes) {
        this.perFileReadCap = bytes;
        return this;
    }

    /** Nodes a walk may visit (default 200000); a walk that would go on is a failure (a directory cycle). */
    public ImageFuzz maxNodes(int n) {
        this.maxNodes = n;
        return this;
    }

    /** Whether unsafe or unsorted child names are failures (default true). */
    public ImageFuzz checkNames(boolean on) {
        this.checkNames = on;
        return this;
    }

    /** A fixed master seed (default: {@code microforge.fuzz.seed}, else the clock; always printed). */
    public ImageFuzz masterSeed(long s) {
        this.masterSeed = s;
        return this;
    }

    /** Stop after this many mutated cases even if time remains. */
    public ImageFuzz maxCases(int n) {
        this.maxCases = n;
        return this;
    }

    /** Runs the loop; throws {@link AssertionError} describing the first failing case. */
    public Result run() throws IOException, InterruptedException {
        if (seeds.isEmpty()) {
            throw new IllegalStateException("ImageFuzz needs at least one valid seed image");
        }
        long master = masterSeed != null ? masterSeed
                : Long.getLong("microforge.fuzz.seed", System.nanoTime() ^ System.currentTimeMillis());
        Duration total = Long.getLong("microforge.fuzz.seconds") != null
                ? Duration.ofSeconds(Long.getLong("microforge.fuzz.seconds")) : budget;
        Path dir = Files.createTempDirectory("imagefuzz-" + name);
        Path file = dir.resolve("case.img");
        ExecutorService exec = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "imagefuzz-" + name);
            t.setDaemon(true);
            return t;
        });
        long t0 = System.nanoTime();
        int cases = 0;
        int rejected = 0;
        int walked = 0;
        long bytes = 0;
        try {
            for (int i = 0; i < seeds.size(); i++) {
                Files.write(file, seeds.get(i));
                Outcome o = runCase(exec, file);
                if (o.failure != null || o.rejectedWith != null) {
                    throw fail(master, -1, 0, "unmutated seed #" + i, seeds.get(i),
                            o.failure != null ? o.failure : "a valid seed image was rejected: " + o.rejectedWith, o.cause);
                }
                bytes += o.bytesRead;
            }
            long deadline = t0 + total.toNanos();
            while (System.nanoTime() < deadline && cases < maxCases) {
                long caseSeed = mix(master, cases);
                Random rnd = new Random(caseSeed);
                StringBuilder desc = new StringBuilder();
                byte[] mutant = mutate(rnd, desc);
                Files.write(file, mutant);
                Outcome o = runCase(exec, file);
                if (o.failure != null) {
                    throw fail(master, cases, caseSeed, desc.toString(), mutant, o.failure, o.cause);
                }
                if (o.rejectedWith != null) {
                    rejected++;
                } else {
                    walked++;
                }
                bytes += o.bytesRead;
                cases++;
            }
        } finally {
            exec.shutdownNow();
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
        Result r = new Result(master, cases, rejected, walked, bytes, Duration.ofNanos(System.nanoTime() - t0));
        System.out.println("ImageFuzz " + name + ": " + r);
        return r;
    }

    /** The mutant for one case seed (to replay a failure by hand). */
    public byte[] mutant(long caseSeed) {
        return mutate(new Random(caseSeed), new StringBuilder());
    }

    static long mix(long master, long index) {
        long z = master + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // ------------------------------------------------------------------ mutation

    private byte[] mutate(Random rnd, StringBuilder desc) {
        int si = rnd.nextInt(seeds.size());
        byte[] b = seeds.get(si).clone();
        desc.append("seed#").append(si);
        int n = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(8) : 0);
        for (int k = 0; k < n; k++) {
            b = mutateOnce(rnd, b, desc);
        }
        return b;
    }

    /** An offset biased to the head (superblock, first metadata) a third of the time. */
    private static int offset(Random rnd, int len) {
        if (len == 0) {
            return 0;
        }
        int r = rnd.nextInt(3);
        if (r == 0) {
            return rnd.nextInt(Math.min(len, 256));
        }
        if (r == 1) {
            return rnd.nextInt(Math.min(len, 8192));
        }
        return rnd.nextInt(len);
    }

    private static final long[] BOUNDARY = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffffL,
        0x80000000L, 0xffffffffL, 0x100000000L, Long.MAX_VALUE, -1L, Long.MIN_VALUE};

    private byte[] mutateOnce(Random rnd, byte[] b, StringBuilder desc) {
        int len = b.length;
        int kind = rnd.nextInt(10);
        switch (kind) {
            case 0, 1 -> {
                int bits = 1 + rnd.nextInt(4);
                for (int i = 0; i < bits && len > 0; i++) {
                    int o = offset(rnd, len);
                    int bit = rnd.nextInt(8);
                    b[o] ^= (byte) (1 << bit);
                    desc.append(" flip@").append(o).append('.').append(bit);
                }
            }
            case 2 -> {
                int o = offset(rnd, len);
                int run = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 64);
                int v = switch (rnd.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> 0xff;
                    default -> -1;
                };
                for (int i = o; i < Math.min(len, o + run); i++) {
                    b[i] = (byte) (v >= 0 ? v : rnd.nextInt(256));
                }
                desc.append(" set@").append(o).append('+').append(run).append('=').append(v >= 0 ? Integer.toHexString(v) : "rnd");
            }
            case 3, 4 -> {
                int width = 1 << (1 + rnd.nextInt(3));
                int o = offset(rnd, len) & ~(width - 1);
                long v = rnd.nextInt(4) == 0 ? rnd.nextLong() : BOUNDARY[rnd.nextInt(BOUNDARY.length)];
                if (rnd.nextInt(4) == 0) {
                    v = len + rnd.nextInt(3) - 1;
                }
                for (int i = 0; i < width && o + i < len; i++) {
                    b[o + i] = (byte) (v >>> (8 * i));
                }
                desc.append(" le").append(width * 8).append('@').append(o).append('=').append(Long.toHexString(v));
            }
            case 5 -> {
                int cut = len == 0 ? 0 : rnd.nextInt(len);
                desc.append(" truncate=").append(cut);
                return Arrays.copyOf(b, cut);
            }
            case 6 -> {
                int extra = 1 + rnd.nextInt(8192);
                byte[] out = Arrays.copyOf(b, len + extra);
                for (int i = len; i < out.length; i++) {
                    out[i] = (byte) rnd.nextInt(256);
                }
                desc.append(" append=").append(extra);
                return out;
            }
            case 7 -> {
                if (len > 2) {
                    int from = rnd.nextInt(len);
                    int to = offset(rnd, len);
                    int run = Math.min(1 + rnd.nextInt(512), Math.min(len - from, len - to));
                    System.arraycopy(b, from, b, to, run);
                    desc.append(" copy@").append(from).append("->").append(to).append('+').append(run);
                }
            }
            case 8 -> {
                byte[] other = seeds.get(rnd.nextInt(seeds.size()));
                int at = rnd.nextInt(Math.max(1, Math.min(len, other.length)));
                byte[] out = Arrays.copyOf(b, Math.max(at, 0) + (other.length - at));
                System.arraycopy(other, at, out, at, other.length - at);
                desc.append(" splice@").append(at);
                return out;
            }
            default -> {
                int o = offset(rnd, len);
                if (len > 0) {
                    b[o] = (byte) (b[o] + (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(16)));
                    desc.append(" add@").append(o);
                }
            }
        }
        return b;
    }

    // ------------------------------------------------------------------ one case

    private static final class Outcome {
        String failure;
        Throwable cause;
        String rejectedWith;
        long bytesRead;
    }

    private Outcome runCase(ExecutorService exec, Path file) throws InterruptedException {
        Outcome o = new Outcome();
        Future<Long> f = exec.submit(() -> walkMeasured(file));
        try {
            o.bytesRead = f.get(perCase.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            o.failure = "no result within " + perCase.toMillis() + " ms (hang or endless loop)";
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Failure fl) {
                o.failure = fl.getMessage();
                o.cause = fl.getCause();
            } else if (c instanceof IOException io) {
                o.rejectedWith = io.toString();
            } else {
                o.failure = "threw " + c;
                o.cause = c;
            }
        }
        return o;
    }

    /** A failure found inside the walk (not an exception of the reader's). */
    private static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String m, Throwable cause) {
            super(m, cause);
        }
    }

    private long walkMeasured(Path file) throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        long read;
        try {
            read = walk(file);
        } catch (IOException e) {
            checkAllocation(mx.getThreadAllocatedBytes(tid) - before, null);
            throw e;
        } catch (Failure e) {
            throw e;
        } catch (Throwable t) {
            // OutOfMemoryError, StackOverflowError, RuntimeException...: report as is
            throw new Failure("threw " + t, t);
        }
        checkAllocation(mx.getThreadAllocatedBytes(tid) - before, null);
        return read;
    }

    private void checkAllocation(long allocated, Throwable cause) throws Failure {
        if (allocated > allocationCap) {
            throw new Failure("allocated " + allocated + " bytes in one case (cap " + allocationCap + ")", cause);
        }
    }

    private long walk(Path file) throws IOException, Failure {
        long read = 0;
        int nodes = 0;
        byte[] buf = new byte[65536];
        try (ImageFs fs = opener.open(file)) {
            fs.type();
            fs.summary();
            Deque<ImageFs.Node> todo = new ArrayDeque<>();
            todo.push(fs.root());
            while (!todo.isEmpty() && nodes < maxNodes) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new IOException("interrupted");
                }
                ImageFs.Node n = todo.pop();
                nodes++;
                n.mode();
                n.uid();
                n.gid();
                n.mtime();
                if (n instanceof ImageFs.DirNode d) {
                    List<ImageFs.Child> children = d.children();
                    byte[] prev = null;
                    for (ImageFs.Child c : children) {
                        if (checkNames) {
                            checkName(c.name(), prev);
                        }
                        prev = c.name();
                        todo.push(c.node());
                    }
                } else if (n instanceof ImageFs.FileNode fn) {
                    long size = fn.size();
                    long got = 0;
                    try (InputStream in = fn.open()) {
                        int k;
                        while (got < perFileReadCap && (k = in.read(buf, 0, (int) Math.min(buf.length, perFileReadCap - got))) > 0) {
                            got += k;
                        }
                    }
                    if (got < perFileReadCap && got != size) {
                        throw new Failure("file content has " + got + " bytes but size() says " + size
                                + " (a short or long read must be a CorruptImageException)", null);
                    }
                    read += got;
                } else if (n instanceof ImageFs.LinkNode l) {
                    read += l.target().length;
                }
            }
            if (!todo.isEmpty()) {
                throw new Failure("directory graph cut at " + maxNodes + " nodes with more to visit: a cycle (or shared"
                        + " directories) the reader did not refuse", null);
            }
        }
        return read;
    }

    private static void checkName(byte[] name, byte[] prev) throws Failure {
        boolean bad = name.length == 0 || Arrays.equals(name, new byte[] {'.'}) || Arrays.equals(name, new byte[] {'.', '.'});
        for (byte x : name) {
            bad |= x == '/' || x == 0;
        }
        if (bad) {
            throw new Failure("reader returned an unsafe child name '" + TreeHash.escape(name)
                    + "' (must be rejected as corrupt: extract would write outside its target)", null);
        }
        if (prev != null && Arrays.compareUnsigned(prev, name) >= 0) {
            throw new Failure("children not in strictly increasing unsigned-byte order: '" + TreeHash.escape(prev) + "' then '"
                    + TreeHash.escape(name) + "'", null);
        }
    }

    private AssertionError fail(long master, int index, long caseSeed, String desc, byte[] mutant, String what, Throwable cause) {
        String kept = "";
        try {
            Path d = Files.createDirectories(Tools.projectRoot().resolve("target/fuzz-failures"));
            Path f = d.resolve(name + "-" + Long.toHexString(caseSeed) + ".img");
            Files.write(f, mutant);
            kept = "; mutant kept at " + f;
        } catch (IOException e) {
            kept = "; could not keep the mutant: " + e;
        }
        AssertionError e = new AssertionError("ImageFuzz " + name + ": case " + index + " (master seed " + master
                + ", case seed " + caseSeed + ", mutations: " + desc + ", " + mutant.length + " bytes): " + what
                + kept + "; replay with -Dmicroforge.fuzz.seed=" + master);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }
}
