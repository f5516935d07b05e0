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
        List<Entry> entries = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>();
        for (StorePath sp : paths) {
            if (!names.add(sp.baseName())) {
                continue;
            }
            Path p = storeOnDisk.resolve(sp.baseName());
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new UserError(sp + ": store path is missing on disk (looked for " + p + ")");
            }
            entries.add(new Entry(sp.baseName().getBytes(java.nio.charset.StandardCharsets.US_ASCII), scan(p)));
            events.advance(1);
        }
        for (Map.Entry<String, byte[]> e : extra.entrySet()) {
            if (!names.add(e.getKey())) {
                throw new UserError("generated file " + e.getKey() + " collides with a store path of the closure");
            }
            entries.add(new Entry(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8), RegularFile.inMemory(e.getValue(), false)));
        }
        return Dir.sorted(entries);
    }

    /** Scans one path (not following symlinks). */
    public static Node scan(Path p) {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new UserError(p + ": vanished while scanning");
        } catch (IOException e) {
            throw new UserError(p + ": cannot read attributes: " + e.getMessage());
        }
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
        if (a.isDirectory()) {
            List<Entry> entries = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                for (Path c : ds) {
                    entries.add(new Entry(RawNames.name(c), scan(c)));
                }
            } catch (AccessDeniedException e) {
                throw new UserError(p + ": directory is not readable");
            } catch (IOException e) {
                throw new UserError(p + ": cannot list directory: " + e.getMessage());
            }
            return Dir.sorted(entries);
        }
        throw new UserError(p + ": unsupported file type (not a regular file, directory or symlink)");
    }
}
