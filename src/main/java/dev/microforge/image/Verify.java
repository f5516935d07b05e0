package dev.microforge.image;

import dev.microforge.util.Tasks;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.store.Hash;
import dev.microforge.store.NarWriter;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.Threads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * {@code image verify}: the image root holds exactly the closure's store paths (plus the named generated
 * files), and each store path's NAR serialization, computed from the image, has the expected narHash
 * (and narSize, where known).
 */
public final class Verify {
    private Verify() {}

    /** One store path whose image content differs from what was expected. */
    public record Mismatch(String path, String expected, String actual) {}

    /** The outcome; {@link #ok()} when nothing is missing, extra or different. */
    public record Report(int checked, List<String> missing, List<String> extra, List<Mismatch> mismatches) {
        public Report {
            missing = List.copyOf(missing);
            extra = List.copyOf(extra);
            mismatches = List.copyOf(mismatches);
        }

        public boolean ok() {
            return missing.isEmpty() && extra.isEmpty() && mismatches.isEmpty();
        }

        /** Human-readable lines, problems first. */
        public List<String> lines() {
            List<String> l = new ArrayList<>();
            for (String m : missing) {
                l.add("missing from image: " + m);
            }
            for (String e : extra) {
                l.add("not in closure: /" + e);
            }
            for (Mismatch m : mismatches) {
                l.add("content differs: " + m.path() + ": expected " + m.expected() + ", image has " + m.actual());
            }
            return l;
        }
    }

    /** The NAR hash and size of an image node. */
    public record NarInfo(Hash narHash, long narSize) {}

    /**
     * @param expected the narHash/narSize each path must have (from the closure, or computed from the store by
     *     the caller when the closure does not carry them); called from several threads
     * @param generated root entries that are not store paths (e.g. the registration file)
     */
    public static Report verify(ImageFs fs, ClosureGraph closure, Function<PathInfo, NarInfo> expected,
            Set<String> generated, int threads, Events events) throws IOException {
        Threads.check(threads);
        ImageFs.Node root = fs.root();
        if (!(root instanceof ImageFs.DirNode dir)) {
            throw new CorruptImageException("root inode is not a directory");
        }
        Map<String, ImageFs.Node> byName = new HashMap<>();
        List<String> extra = new ArrayList<>();
        Map<String, PathInfo> wanted = new TreeMap<>();
        for (PathInfo pi : closure.paths()) {
            wanted.put(pi.path().baseName(), pi);
        }
        for (ImageFs.Child c : dir.children()) {
            String name = new String(c.name(), StandardCharsets.UTF_8);
            if (wanted.containsKey(name) && Arrays.equals(name.getBytes(StandardCharsets.UTF_8), c.name())) {
                byName.put(name, c.node());
            } else if (!generated.contains(name)) {
                extra.add(RawNames.display(c.name()));
            }
        }
        List<String> missing = new ArrayList<>();
        List<PathInfo> present = new ArrayList<>();
        for (Map.Entry<String, PathInfo> e : wanted.entrySet()) {
            if (byName.containsKey(e.getKey())) {
                present.add(e.getValue());
            } else {
                missing.add(e.getValue().path().path());
            }
        }
        events.start("verifying store paths", present.size());
        List<Mismatch> mismatches = new ArrayList<>();
        ExecutorService pool = Tasks.daemonPool(threads, "microforge-verify");
        try {
            List<Future<Mismatch>> futures = new ArrayList<>();
            for (PathInfo pi : present) {
                ImageFs.Node node = byName.get(pi.path().baseName());
                futures.add(pool.submit(() -> {
                    NarInfo want = expected.apply(pi);
                    NarInfo got = nar(node, "/" + pi.path().baseName());
                    events.advance(1);
                    if (!want.narHash().equals(got.narHash())) {
                        return new Mismatch(pi.path().path(), want.narHash().format("nix32") , got.narHash().format("nix32"));
                    }
                    if (want.narSize() >= 0 && want.narSize() != got.narSize()) {
                        return new Mismatch(pi.path().path(), "narSize " + want.narSize(), "narSize " + got.narSize());
                    }
                    return null;
                }));
            }
            for (Future<Mismatch> f : futures) {
                Mismatch m;
                m = Tasks.await(f);
                if (m != null) {
                    mismatches.add(m);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        events.finish("verifying store paths");
        return new Report(present.size(), missing, extra, mismatches);
    }

    /** narHash and narSize of an image node, computed by serializing it as NAR. */
    public static NarInfo nar(ImageFs.Node node) throws IOException {
        return nar(node, "");
    }

    /** As {@link #nar(ImageFs.Node)}; {@code path} is the node's path in the image, for errors. */
    static NarInfo nar(ImageFs.Node node, String path) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
                md.update((byte) b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                md.update(b, off, len);
            }
        };
        NarWriter w = new NarWriter(sink);
        w.header();
        dump(node, path, w);
        return new NarInfo(new Hash("sha256", md.digest()), w.written());
    }

    /** A directory being serialized: its entries not written yet. */
    private record Frame(byte[] name, Iterator<ImageFs.Child> todo) {}

    /** Serializes {@code node} as NAR; iterative, so any depth works. */
    private static void dump(ImageFs.Node node, String path, NarWriter w) throws IOException {
        Deque<Frame> stack = new ArrayDeque<>();
        byte[] name = null;
        try {
            if (open(node, null, w, stack)) {
                return;
            }
            while (!stack.isEmpty()) {
                Frame f = stack.peek();
                if (!f.todo().hasNext()) {
                    stack.pop();
                    w.directoryEnd();
                    if (!stack.isEmpty()) {
                        w.entryEnd();
                    }
                    continue;
                }
                ImageFs.Child c = f.todo().next();
                name = c.name();
                w.entryStart(c.name());
                if (open(c.node(), c.name(), w, stack)) {
                    w.entryEnd();
                }
                name = null;
            }
        } catch (CorruptImageException e) {
            throw e.at(path + pathOf(stack, name));
        }
    }

    /** Writes a file or symlink (true), or starts a directory and pushes its frame (false). */
    private static boolean open(ImageFs.Node node, byte[] name, NarWriter w, Deque<Frame> stack) throws IOException {
        if (node instanceof ImageFs.FileNode f) {
            try (InputStream in = f.open()) {
                w.regular((f.mode() & 0100) != 0, f.size(), in);
            }
            return true;
        } else if (node instanceof ImageFs.LinkNode l) {
            w.symlink(l.target());
            return true;
        }
        List<ImageFs.Child> children = ((ImageFs.DirNode) node).children();
        w.directoryStart();
        stack.push(new Frame(name, children.iterator()));
        return false;
    }

    /** The path, below the serialized node, of {@code name} in the directory on top of {@code stack}. */
    private static String pathOf(Deque<Frame> stack, byte[] name) {
        StringBuilder sb = new StringBuilder();
        Iterator<Frame> it = stack.descendingIterator();
        while (it.hasNext()) {
            byte[] n = it.next().name();
            if (n != null) {
                sb.append('/').append(RawNames.display(n));
            }
        }
        if (name != null) {
            sb.append('/').append(RawNames.display(name));
        }
        return sb.toString();
    }
}
