package dev.microforge.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * A gzip'd newc cpio archive for the kernel's initramfs unpacker, written with commons-compress.
 * Deterministic: entries in name order, parents before children, mtime 0, uid/gid 0, inodes numbered in
 * order. Parent directories are created implicitly (mode 0755).
 */
public final class Initramfs {
    private sealed interface Item permits DirItem, FileItem, LinkItem, DevItem {}

    private record DirItem(int mode) implements Item {}

    private record FileItem(byte[] data, int mode) implements Item {}

    private record LinkItem(String target) implements Item {}

    private record DevItem(int mode, int major, int minor) implements Item {}

    private final TreeMap<String, Item> items = new TreeMap<>();

    private static String norm(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.isEmpty() || p.endsWith("/") || p.contains("//") || p.equals("..") || p.startsWith("../") || p.contains("/../")) {
            throw new IllegalArgumentException("bad initramfs path: '" + path + "'");
        }
        return p;
    }

    private void parents(String p) {
        int i = p.lastIndexOf('/');
        if (i > 0) {
            String parent = p.substring(0, i);
            Item existing = items.get(parent);
            if (existing == null) {
                parents(parent);
                items.put(parent, new DirItem(0755));
            } else if (!(existing instanceof DirItem)) {
                throw new IllegalArgumentException("initramfs: " + parent + " is not a directory");
            }
        }
    }

    private Initramfs put(String path, Item item) {
        String p = norm(path);
        parents(p);
        items.put(p, item);
        return this;
    }

    public Initramfs dir(String path, int mode) {
        return put(path, new DirItem(mode));
    }

    public Initramfs file(String path, byte[] data, int mode) {
        return put(path, new FileItem(data.clone(), mode));
    }

    public Initramfs file(String path, String text, int mode) {
        return file(path, text.getBytes(StandardCharsets.UTF_8), mode);
    }

    public Initramfs copy(String path, Path from, int mode) throws IOException {
        return file(path, Files.readAllBytes(from), mode);
    }

    public Initramfs symlink(String path, String target) {
        return put(path, new LinkItem(target));
    }

    public Initramfs charDevice(String path, int mode, int major, int minor) {
        return put(path, new DevItem(mode, major, minor));
    }

    /** The uncompressed newc archive. */
    public byte[] cpio() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        write(bos);
        return bos.toByteArray();
    }

    /** The gzip'd archive (what {@code -initrd} gets; the kernel has CONFIG_RD_GZIP). */
    public byte[] gzip() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos, 65536) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        }) {
            write(gz);
        }
        return bos.toByteArray();
    }

    public Path writeGzip(Path out) throws IOException {
        Files.write(out, gzip());
        return out;
    }

    private void write(OutputStream os) throws IOException {
        // Not closing cpio here would leave the trailer out; close() also closes os, which the callers expect.
        CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(nonClosing(os), CpioConstants.FORMAT_NEW, 512, "US-ASCII");
        long ino = 300;
        for (Map.Entry<String, Item> e : items.entrySet()) {
            Item it = e.getValue();
            byte[] data = it instanceof FileItem f ? f.data()
                    : it instanceof LinkItem l ? l.target().getBytes(StandardCharsets.UTF_8) : new byte[0];
            CpioArchiveEntry ce = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, e.getKey(), data.length);
            ce.setInode(ino++);
            ce.setTime(0);
            ce.setUID(0);
            ce.setGID(0);
            ce.setDeviceMaj(0);
            ce.setDeviceMin(0);
            if (it instanceof DirItem d) {
                ce.setMode(CpioConstants.C_ISDIR | d.mode());
                ce.setNumberOfLinks(2);
            } else if (it instanceof FileItem f) {
                ce.setMode(CpioConstants.C_ISREG | f.mode());
                ce.setNumberOfLinks(1);
            } else if (it instanceof LinkItem) {
                ce.setMode(CpioConstants.C_ISLNK | 0777);
                ce.setNumberOfLinks(1);
            } else if (it instanceof DevItem dv) {
                ce.setMode(CpioConstants.C_ISCHR | dv.mode());
                ce.setRemoteDeviceMaj(dv.major());
                ce.setRemoteDeviceMin(dv.minor());
                ce.setNumberOfLinks(1);
            }
            cpio.putArchiveEntry(ce);
            cpio.write(data);
            cpio.closeArchiveEntry();
        }
        cpio.finish();
        cpio.close();
    }

    private static OutputStream nonClosing(OutputStream os) {
        return new java.io.FilterOutputStream(os) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }
}
