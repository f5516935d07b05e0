package dev.microforge.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The NAR wire format, written as a stream of structural calls (the caller walks its tree: a directory on
 * disk, an image, ...). Entries of a directory must be given in unsigned-byte order of their names.
 * <pre>
 *   nar      = str("nix-archive-1") node
 *   node     = str("(") str("type") (regular | symlink | directory) str(")")
 *   regular  = str("regular") [str("executable") str("")] str("contents") u64(size) bytes pad8
 *   symlink  = str("symlink") str("target") str(target)
 *   directory= str("directory") { str("entry") str("(") str("name") str(name) str("node") node str(")") }
 *   str(s)   = u64le(len) bytes pad8
 * </pre>
 */
public final class NarWriter {
    private static final byte[] ZEROS = new byte[8];
    private final OutputStream out;
    private final byte[] num = new byte[8];
    private long written;

    public NarWriter(OutputStream out) {
        this.out = out;
    }

    /** Bytes written so far (the narSize once the root node is closed). */
    public long written() {
        return written;
    }

    public void header() throws IOException {
        str("nix-archive-1");
    }

    public void regular(boolean executable, long size, InputStream content) throws IOException {
        str("(");
        str("type");
        str("regular");
        if (executable) {
            str("executable");
            str("");
        }
        str("contents");
        u64(size);
        byte[] buf = new byte[(int) Math.min(Math.max(size, 1), 1 << 16)];
        long left = size;
        while (left > 0) {
            int n = content.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new IOException("file shrank while reading (expected " + size + " bytes)");
            }
            raw(buf, 0, n);
            left -= n;
        }
        if (content.read() >= 0) {
            throw new IOException("file grew while reading (expected " + size + " bytes)");
        }
        pad(size);
        str(")");
    }

    /** A regular node whose contents the caller streams through {@link #contents(byte[], int, int)}. */
    public void regularStart(boolean executable, long size) throws IOException {
        str("(");
        str("type");
        str("regular");
        if (executable) {
            str("executable");
            str("");
        }
        str("contents");
        u64(size);
    }

    public void contents(byte[] b, int off, int len) throws IOException {
        raw(b, off, len);
    }

    public void regularEnd(long size) throws IOException {
        pad(size);
        str(")");
    }

    public void symlink(byte[] target) throws IOException {
        str("(");
        str("type");
        str("symlink");
        str("target");
        str(target);
        str(")");
    }

    public void directoryStart() throws IOException {
        str("(");
        str("type");
        str("directory");
    }

    /** Starts an entry; follow with exactly one node, then {@link #entryEnd()}. */
    public void entryStart(byte[] name) throws IOException {
        str("entry");
        str("(");
        str("name");
        str(name);
        str("node");
    }

    public void entryEnd() throws IOException {
        str(")");
    }

    public void directoryEnd() throws IOException {
        str(")");
    }

    private void str(String s) throws IOException {
        str(s.getBytes(StandardCharsets.US_ASCII));
    }

    private void str(byte[] b) throws IOException {
        u64(b.length);
        raw(b, 0, b.length);
        pad(b.length);
    }

    private void u64(long v) throws IOException {
        for (int i = 0; i < 8; i++) {
            num[i] = (byte) (v >>> (8 * i));
        }
        raw(num, 0, 8);
    }

    private void pad(long len) throws IOException {
        int p = (int) ((8 - (len & 7)) & 7);
        if (p > 0) {
            raw(ZEROS, 0, p);
        }
    }

    private void raw(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        written += len;
    }
}
