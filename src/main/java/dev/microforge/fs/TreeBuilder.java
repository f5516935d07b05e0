package dev.microforge.fs;

import dev.microforge.store.StorePath;
import dev.microforge.util.Events;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

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
            rootNames.add(sp.baseName().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
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
            entries.add(new Entry(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8), RegularFile.inMemory(e.getValue(), false)));
        }
        return Dir.sorted(entries);
    }

    /** Scans {@code roots} (one {@link Events#advance} per root), in parallel when {@code threads > 1}. */
    private static List<Node> scanAll(List<Path> roots, int threads, Events events) {
        List<Node> nodes = new ArrayList<>(roots.size());
        if (threads <= 1) {
            for (Path p : roots) {
                nodes.add(scan(p));
                events.advance(1);
            }
            return nodes;
        }
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(threads);
        try {
            List<ScanTask> tasks = new ArrayList<>();
            for (Path p : roots) {
                tasks.add(new ScanTask(p));
            }
            pool.invoke(new java.util.concurrent.RecursiveAction() {
                @Override
                protected void compute() {
                    invokeAll(tasks);
                }
            });
            for (ScanTask t : tasks) {
                nodes.add(t.result());
                events.advance(1);
            }
            return nodes;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * One path of a parallel scan. Errors are kept, not thrown through the pool (which may wrap or copy them),
     * and rethrown by {@link #result()} on the caller's thread: the first bad entry in name order wins.
     */
    private static final class ScanTask extends java.util.concurrent.RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient Path path;
        private transient byte[] name;
        private transient Node node;
        private transient RuntimeException error;

        ScanTask(Path path) {
            this.path = path;
        }

        @Override
        protected void compute() {
            try {
                PosixFileAttributes a = attributes(path);
                if (!a.isDirectory()) {
                    node = leaf(path, a);
                    return;
                }
                List<Path> children = list(path);
                List<ScanTask> tasks = new ArrayList<>(children.size());
                for (Path c : children) {
                    ScanTask t = new ScanTask(c);
                    t.name = RawNames.name(c);
                    tasks.add(t);
                }
                invokeAll(tasks);
                tasks.sort((x, y) -> RawNames.compare(x.name, y.name));
                List<Entry> entries = new ArrayList<>(tasks.size());
                for (ScanTask t : tasks) {
                    entries.add(new Entry(t.name, t.result()));
                }
                node = new Dir(entries);
            } catch (RuntimeException e) {
                error = e;
            }
        }

        Node result() {
            if (error != null) {
                throw error;
            }
            return node;
        }
    }

    /** Scans one path (not following symlinks). */
    public static Node scan(Path p) {
        PosixFileAttributes a = attributes(p);
        if (a.isDirectory()) {
            List<Entry> entries = new ArrayList<>();
            for (Path c : list(p)) {
                entries.add(new Entry(RawNames.name(c), scan(c)));
            }
            return Dir.sorted(entries);
        }
        return leaf(p, a);
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
            if (!Files.isReadable(p)) {
                throw new UserError(p + ": file is not readable");
            }
            return RegularFile.onDisk(p, a.size(), a.permissions().contains(PosixFilePermission.OWNER_EXECUTE));
        }
        throw new UserError(p + ": unsupported file type (not a regular file, directory or symlink)");
    }
}
