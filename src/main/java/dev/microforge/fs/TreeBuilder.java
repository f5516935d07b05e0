package dev.microforge.fs;

import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.Tasks;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** Scans store paths on disk into a normalized {@link Dir} tree (the image root = the store directory). */
public final class TreeBuilder {
    private TreeBuilder() {}

    /**
     * The tree whose root holds one entry per store path, read from {@code storeOnDisk} (the directory that
     * holds the store paths on this machine; usually the store dir itself). {@code extra} adds generated
     * files at the root (e.g. the registration).
     */
    public static Dir fromStore(Path storeOnDisk, Collection<StorePath> paths, Map<String, byte[]> extra, Events events) {
        return fromStore(storeOnDisk, paths, extra, events, 1);
    }

    /**
     * As {@link #fromStore(Path, Collection, Map, Events)}, scanning with {@code threads} threads (directories
     * are listed and their entries examined in parallel). The tree is the same whatever the thread count:
     * every directory is sorted by name; when several paths are bad, the first in tree order is reported.
     */
    public static Dir fromStore(Path storeOnDisk, Collection<StorePath> paths, Map<String, byte[]> extra, Events events,
            int threads) {
        List<Path> roots = new ArrayList<>();
        List<byte[]> rootNames = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>();
        for (StorePath sp : paths) {
            if (!names.add(sp.baseName())) {
                continue;
            }
            Path p = storeOnDisk.resolve(sp.baseName());
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new UserError(sp + ": store path is missing on disk (looked for " + p + ")");
            }
            roots.add(p);
            rootNames.add(sp.baseName().getBytes(StandardCharsets.US_ASCII));
        }
        List<Node> nodes = scanAll(roots, threads, events);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < roots.size(); i++) {
            entries.add(new Entry(rootNames.get(i), nodes.get(i)));
        }
        for (Map.Entry<String, byte[]> e : extra.entrySet()) {
            if (!names.add(e.getKey())) {
                throw new UserError("generated file " + e.getKey() + " collides with a store path of the closure");
            }
            entries.add(new Entry(e.getKey().getBytes(StandardCharsets.UTF_8), RegularFile.inMemory(e.getValue(), false)));
        }
        return Dir.sorted(entries);
    }

    /**
     * Scans {@code roots} (one {@link Events#advance} per root), in parallel when {@code threads > 1}: each
     * directory is one task that lists it and examines its entries, and queues a task per subdirectory. No
     * recursion on the call stack, so any depth works; the tree is assembled bottom-up at the end.
     */
    private static List<Node> scanAll(List<Path> roots, int threads, Events events) {
        List<Scan> scans = new ArrayList<>(roots.size());
        for (Path p : roots) {
            scans.add(new Scan(p, null));
        }
        if (threads <= 1) {
            ArrayDeque<Scan> todo = new ArrayDeque<>();
            for (Scan s : scans) {
                s.examine(todo::push);
                while (!todo.isEmpty()) {
                    todo.pop().list(todo::push);
                }
                events.advance(1);
            }
        } else {
            ExecutorService pool = Tasks.daemonPool(threads, "microforge-scan");
            try {
                // tasks queued or running; the one that brings it to 0 opens the latch (a task counts its
                // subdirectories before it ends, so 0 means the whole tree is done)
                AtomicLong pending = new AtomicLong(scans.size());
                CountDownLatch done = new CountDownLatch(1);
                @SuppressWarnings("unchecked")
                Consumer<Scan>[] submit = new Consumer[1];
                BiConsumer<Scan, Boolean> run = (s, examine) -> pool.execute(() -> {
                    try {
                        if (examine) {
                            s.examine(submit[0]);
                        } else {
                            s.list(submit[0]);
                        }
                    } finally {
                        if (pending.decrementAndGet() == 0) {
                            done.countDown();
                        }
                    }
                });
                submit[0] = s -> {
                    pending.incrementAndGet();
                    run.accept(s, false);
                };
                for (Scan s : scans) {
                    run.accept(s, true);
                }
                if (!scans.isEmpty()) {
                    try {
                        done.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new UserError("interrupted while scanning");
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            for (int i = 0; i < scans.size(); i++) {
                events.advance(1);
            }
        }
        List<Node> nodes = new ArrayList<>(scans.size());
        for (Scan s : scans) {
            nodes.add(s.build());
        }
        return nodes;
    }

    /**
     * One path of a scan. Errors are kept, not thrown through the pool, and rethrown by {@link #build()} on the
     * caller's thread: the first bad entry in tree order (names sorted) wins, whatever the thread count.
     */
    private static final class Scan {
        final Path path;
        final byte[] name;
        PosixFileAttributes attrs;
        Node leaf;
        List<Scan> children;
        RuntimeException error;

        Scan(Path path, byte[] name) {
            this.path = path;
            this.name = name;
        }

        /** Reads the attributes; a directory is handed to {@code dirs} to be listed. */
        void examine(Consumer<Scan> dirs) {
            try {
                attrs = attributes(path);
                if (attrs.isDirectory()) {
                    dirs.accept(this);
                } else {
                    leaf = leaf(path, attrs);
                }
            } catch (RuntimeException e) {
                error = e;
            }
        }

        /** Lists this directory and examines its entries (subdirectories go to {@code dirs}). */
        void list(Consumer<Scan> dirs) {
            List<Scan> kids = new ArrayList<>();
            try {
                for (Path c : TreeBuilder.list(path)) {
                    kids.add(new Scan(c, RawNames.name(c)));
                }
            } catch (RuntimeException e) {
                error = e;
                return;
            }
            kids.sort((x, y) -> RawNames.compare(x.name, y.name));
            children = kids;
            for (Scan k : kids) {
                k.examine(dirs);
            }
        }

        /** The node, built bottom-up without recursion; throws the first error in tree order. */
        Node build() {
            List<Scan> order = new ArrayList<>();
            ArrayDeque<Scan> todo = new ArrayDeque<>();
            todo.push(this);
            while (!todo.isEmpty()) {
                Scan s = todo.pop();
                if (s.error != null) {
                    throw s.error;
                }
                order.add(s);
                if (s.children != null) {
                    for (int i = s.children.size() - 1; i >= 0; i--) {
                        todo.push(s.children.get(i));
                    }
                }
            }
            Map<Scan, Node> built = new IdentityHashMap<>();
            for (int i = order.size() - 1; i >= 0; i--) {
                Scan s = order.get(i);
                if (s.leaf != null) {
                    built.put(s, s.leaf);
                } else {
                    List<Entry> entries = new ArrayList<>(s.children.size());
                    for (Scan k : s.children) {
                        entries.add(new Entry(k.name, built.remove(k)));
                    }
                    built.put(s, new Dir(entries));
                }
            }
            return built.get(this);
        }
    }

    /** Scans one path (not following symlinks); iterative, so any depth works. */
    public static Node scan(Path p) {
        return scanAll(List.of(p), 1, Events.NONE).get(0);
    }

    private static PosixFileAttributes attributes(Path p) {
        try {
            return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new UserError(p + ": vanished while scanning");
        } catch (IOException e) {
            throw new UserError(p + ": cannot read attributes: " + e.getMessage());
        }
    }

    /** The entries of a directory, in the order the file system lists them. */
    private static List<Path> list(Path p) {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
            for (Path c : ds) {
                children.add(c);
            }
        } catch (AccessDeniedException e) {
            throw new UserError(p + ": directory is not readable");
        } catch (IOException e) {
            throw new UserError(p + ": cannot list directory: " + e.getMessage());
        }
        return children;
    }

    /** A symlink or regular file; anything else (device, FIFO, socket) is an error. */
    private static Node leaf(Path p, PosixFileAttributes a) {
        if (a.isSymbolicLink()) {
            try {
                return new Symlink(RawNames.bytes(Files.readSymbolicLink(p)));
            } catch (IOException e) {
                throw new UserError(p + ": cannot read symlink: " + e.getMessage());
            }
        }
        if (a.isRegularFile()) {
            // a file that others may read needs no access(2) call (every store file: 0444 or 0555); a file that
            // is unreadable after all (an ACL) fails when a writer opens it, with one line naming it
            if (!a.permissions().contains(PosixFilePermission.OTHERS_READ) && !Files.isReadable(p)) {
                throw new UserError(p + ": file is not readable");
            }
            return RegularFile.onDisk(p, a.size(), a.permissions().contains(PosixFilePermission.OWNER_EXECUTE));
        }
        throw new UserError(p + ": unsupported file type (not a regular file, directory or symlink)");
    }
}
