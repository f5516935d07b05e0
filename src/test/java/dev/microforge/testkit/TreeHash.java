package dev.microforge.testkit;

import dev.microforge.util.RawNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A manifest of a directory tree that a host directory and a guest's mounted image produce identically: one
 * line per entry (the root included, as {@code .}), sorted by the raw path bytes (unsigned):
 *
 * <pre>
 * ./bin/hello f 0755 14 sha256:8f43...      regular file: size, SHA-256 of the content
 * ./lib d 0755 - -                            directory (its size differs between filesystems)
 * ./lib/libx.so l 0777 11 -> libx.so.1        symlink: size = target length, then the target
 * </pre>
 *
 * Paths are relative to the root as {@code find .} prints them. Names are bytes: printable ASCII except
 * backslash and space is kept, every other byte is written {@code \xNN}, on both sides alike, so non-UTF-8
 * names compare exactly. Owner and times are not part of the manifest (images force them; see {@link #guestOwnersAndTimes}
 * and {@link #ofNormalized}).
 *
 * <p>Guest side: the prologue function {@code treehash DIR NAME} runs busybox {@code find}, {@code stat -c}
 * and {@code sha256sum} (a handful of processes for the whole tree, cheap under TCG) and prints sections
 * NAME.stat, NAME.sha and NAME.link; {@link #fromGuest} turns them into a manifest. A file the guest cannot
 * read (an I/O error from the filesystem) does not stop the walk: its line says {@code UNREADABLE-IN-GUEST}. A name containing a
 * newline cannot be represented in that output: {@link #of} refuses such trees.
 */
public final class TreeHash {
    private TreeHash() {}

    /** Shell functions for the guest (sourced before the test script). */
    static final String GUEST_FUNCTIONS = ""
            + "treehash() {\n"
            + "  ( cd \"$1\" || exit 1\n"
            + "    echo '" + Guest.BEGIN + "'\"$2.stat\"; find . -exec stat -c '%f %s %u:%g:%Y %n' {} +; echo '" + Guest.END + "'\"$2.stat\"\n"
            + "    echo '" + Guest.BEGIN + "'\"$2.sha\"; find . -type f -exec sha256sum {} + || true; echo '" + Guest.END + "'\"$2.sha\"\n"
            + "    echo '" + Guest.BEGIN + "'\"$2.link\"; find . -type l -exec stat -c '%N' {} +; echo '" + Guest.END + "'\"$2.link\"\n"
            + "  )\n"
            + "}\n";

    /** Sorted manifest lines. */
    public record Manifest(List<String> lines) {
        public Manifest {
            lines = List.copyOf(lines);
        }

        /** Without the root directory's own line (whose mode an image writer may set differently). */
        public Manifest withoutRoot() {
            return new Manifest(lines.stream().filter(l -> !l.startsWith(". ")).toList());
        }

        public String text() {
            return String.join("\n", lines) + (lines.isEmpty() ? "" : "\n");
        }

        public int size() {
            return lines.size();
        }
    }

    private record Item(byte[] path, char type, int mode, long size, String digest) {
        String line() {
            String sz = type == 'd' ? "-" : Long.toString(size);
            return escape(path) + " " + type + " " + String.format("%04o", mode & 07777) + " " + sz + " " + digest;
        }
    }

    private static Manifest manifest(List<Item> items) {
        List<Item> sorted = new ArrayList<>(items);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.path(), b.path()));
        return new Manifest(sorted.stream().map(Item::line).toList());
    }

    /** Escapes raw bytes: printable ASCII except backslash and space as is, others as \xNN. */
    public static String escape(byte[] raw) {
        StringBuilder sb = new StringBuilder(raw.length);
        for (byte b : raw) {
            int v = b & 0xff;
            if (v > 0x20 && v < 0x7f && v != '\\') {
                sb.append((char) v);
            } else {
                sb.append(String.format("\\x%02x", v));
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- host side

    /** The manifest of a host directory (symlinks are not followed). */
    public static Manifest of(Path root) throws IOException {
        List<Item> items = new ArrayList<>();
        walk(root, new byte[] {'.'}, items);
        return manifest(items);
    }

    /**
     * The manifest an image of {@code root} must show: modes as {@link dev.microforge.fs.Reproducible} normalizes
     * them (directories 0555, files 0444, or 0555 when the owner may execute, symlinks 0777).
     */
    public static Manifest ofNormalized(Path root) throws IOException {
        List<Item> items = new ArrayList<>();
        walk(root, new byte[] {'.'}, items);
        List<Item> norm = new ArrayList<>();
        for (Item i : items) {
            int m = switch (i.type()) {
                case 'd' -> dev.microforge.fs.Reproducible.DIR_MODE;
                case 'f' -> (i.mode() & 0100) != 0 ? dev.microforge.fs.Reproducible.EXEC_FILE_MODE : dev.microforge.fs.Reproducible.FILE_MODE;
                case 'l' -> dev.microforge.fs.Reproducible.SYMLINK_MODE;
                default -> i.mode();
            };
            norm.add(new Item(i.path(), i.type(), m, i.size(), i.digest()));
        }
        return manifest(norm);
    }

    private static void walk(Path p, byte[] rel, List<Item> items) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        int fmt = mode & 0170000;
        if (fmt == 0040000) {
            items.add(new Item(rel, 'd', mode, 0, "-"));
            List<Path> children = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                ds.forEach(children::add);
            }
            for (Path c : children) {
                byte[] name = RawNames.name(c);
                for (byte b : name) {
                    if (b == '\n') {
                        throw new IllegalArgumentException("TreeHash: a name with a newline cannot be compared with the guest: "
                                + RawNames.display(RawNames.bytes(c)));
                    }
                }
                byte[] cr = Arrays.copyOf(rel, rel.length + 1 + name.length);
                cr[rel.length] = '/';
                System.arraycopy(name, 0, cr, rel.length + 1, name.length);
                walk(c, cr, items);
            }
        } else if (fmt == 0100000) {
            MessageDigest md = sha256();
            long size = 0;
            try (InputStream in = Files.newInputStream(p)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    size += n;
                }
            }
            items.add(new Item(rel, 'f', mode, size, "sha256:" + hex(md.digest())));
        } else if (fmt == 0120000) {
            byte[] target = RawNames.bytes(Files.readSymbolicLink(p));
            items.add(new Item(rel, 'l', mode, target.length, "-> " + escape(target)));
        } else {
            items.add(new Item(rel, 'o', mode, 0, String.format("fmt:%06o", fmt)));
        }
    }

    // ---------------------------------------------------------------- guest side

    /** The manifest a guest printed with {@code treehash DIR NAME}. */
    public static Manifest fromGuest(Guest.Report report, String name) {
        try {
            return fromGuestData(report.section(name + ".stat"), report.section(name + ".sha"), report.section(name + ".link"));
        } catch (IllegalArgumentException e) {
            throw new AssertionError("cannot parse the guest's treehash " + name + ": " + e.getMessage() + "\n" + report.diagnostics(), e);
        }
    }

    /**
     * The distinct {@code uid:gid:mtime} triples of all entries the guest listed with {@code treehash DIR NAME}
     * (an image built by the reproducibility rules shows exactly one: {@code 0:0:<SOURCE_DATE_EPOCH or 0>}).
     */
    public static java.util.SortedSet<String> guestOwnersAndTimes(Guest.Report report, String name) {
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        for (byte[] l : split(report.section(name + ".stat"))) {
            String[] f = new String(l, StandardCharsets.ISO_8859_1).split(" ", 4);
            if (f.length < 4) {
                throw new AssertionError("bad stat line: " + escape(l));
            }
            out.add(f[2]);
        }
        return out;
    }

    /** Parses the three sections {@code treehash} prints (stat -c '%f %s %u:%g:%Y %n', sha256sum, stat -c '%N'). */
    public static Manifest fromGuestData(byte[] stat, byte[] sha, byte[] link) {
        Map<String, String> hashes = new HashMap<>();
        for (byte[] l : split(sha)) {
            if (l.length < 67 || l[64] != ' ' || l[65] != ' ') {
                throw new IllegalArgumentException("bad sha256sum line: " + escape(l));
            }
            hashes.put(escape(Arrays.copyOfRange(l, 66, l.length)), new String(l, 0, 64, StandardCharsets.US_ASCII));
        }
        List<byte[]> links = split(link);
        int nextLink = 0;
        List<Item> items = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (byte[] l : split(stat)) {
            int s1 = indexOf(l, (byte) ' ', 0);
            int s2 = s1 < 0 ? -1 : indexOf(l, (byte) ' ', s1 + 1);
            int s3 = s2 < 0 ? -1 : indexOf(l, (byte) ' ', s2 + 1);
            if (s3 < 0) {
                throw new IllegalArgumentException("bad stat line: " + escape(l));
            }
            int mode = Integer.parseInt(new String(l, 0, s1, StandardCharsets.US_ASCII), 16);
            long size = Long.parseLong(new String(l, s1 + 1, s2 - s1 - 1, StandardCharsets.US_ASCII));
            byte[] path = Arrays.copyOfRange(l, s3 + 1, l.length);
            String key = escape(path);
            if (!seen.add(key)) {
                throw new IllegalArgumentException("path listed twice: " + key);
            }
            int fmt = mode & 0170000;
            if (fmt == 0040000) {
                items.add(new Item(path, 'd', mode, 0, "-"));
            } else if (fmt == 0100000) {
                String h = hashes.remove(key);
                // a file the guest could not read (sha256sum's error is on the console) shows as a differing line
                items.add(new Item(path, 'f', mode, size, h == null ? "UNREADABLE-IN-GUEST" : "sha256:" + h));
            } else if (fmt == 0120000) {
                if (nextLink >= links.size()) {
                    throw new IllegalArgumentException("no stat %N line for symlink " + key);
                }
                byte[] n = links.get(nextLink++);
                byte[] prefix = concat(new byte[] {'\''}, path, "' -> '".getBytes(StandardCharsets.US_ASCII));
                if (n.length < prefix.length + 1 || !Arrays.equals(n, 0, prefix.length, prefix, 0, prefix.length) || n[n.length - 1] != '\'') {
                    throw new IllegalArgumentException("symlink line does not match " + key + ": " + escape(n));
                }
                byte[] target = Arrays.copyOfRange(n, prefix.length, n.length - 1);
                items.add(new Item(path, 'l', mode, size, "-> " + escape(target)));
            } else {
                items.add(new Item(path, 'o', mode, 0, String.format("fmt:%06o", fmt)));
            }
        }
        if (!hashes.isEmpty()) {
            throw new IllegalArgumentException("sha256sum for files stat did not list: " + hashes.keySet());
        }
        if (nextLink != links.size()) {
            throw new IllegalArgumentException((links.size() - nextLink) + " symlink lines without a stat entry");
        }
        return manifest(items);
    }

    /**
     * Asserts two manifests are equal; on a difference the message lists the lines only one side has (up to
     * 40), not the whole trees.
     */
    public static void assertSame(Manifest expected, Manifest actual, String what) {
        if (expected.lines().equals(actual.lines())) {
            return;
        }
        Set<String> e = new HashSet<>(expected.lines());
        Set<String> a = new HashSet<>(actual.lines());
        StringBuilder sb = new StringBuilder(what + ": manifests differ (expected " + expected.size() + " entries, got "
                + actual.size() + ")\n");
        int shown = 0;
        for (String l : expected.lines()) {
            if (!a.contains(l) && shown++ < 40) {
                sb.append("  - ").append(l).append('\n');
            }
        }
        for (String l : actual.lines()) {
            if (!e.contains(l) && shown++ < 40) {
                sb.append("  + ").append(l).append('\n');
            }
        }
        throw new AssertionError(sb.toString());
    }

    private static List<byte[]> split(byte[] b) {
        List<byte[]> out = new ArrayList<>();
        int i = 0;
        while (i < b.length) {
            int nl = indexOf(b, (byte) '\n', i);
            int end = nl < 0 ? b.length : nl;
            out.add(Arrays.copyOfRange(b, i, end));
            i = end + 1;
        }
        return out;
    }

    private static int indexOf(byte[] b, byte v, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }
}
