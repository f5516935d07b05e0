package dev.microforge.util;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;

/**
 * File names are bytes, not necessarily UTF-8. The JDK keeps the raw bytes inside {@code sun.nio.fs.UnixPath}
 * but decodes them lossily in {@code toString()}; this class reaches the bytes (the jar's manifest and the
 * launcher open {@code java.base/sun.nio.fs}). Without that access it falls back to UTF-8, which is exact
 * for every valid UTF-8 name.
 */
public final class RawNames {
    private static final Method AS_BYTES;
    private static final Constructor<?> CTOR;
    private static final FileSystem FS = FileSystems.getDefault();

    static {
        Method m = null;
        Constructor<?> c = null;
        try {
            Class<?> unixPath = Class.forName("sun.nio.fs.UnixPath");
            Class<?> unixFs = Class.forName("sun.nio.fs.UnixFileSystem");
            m = unixPath.getDeclaredMethod("asByteArray");
            m.setAccessible(true);
            c = unixPath.getDeclaredConstructor(unixFs, byte[].class);
            c.setAccessible(true);
            if (!unixFs.isInstance(FS)) {
                m = null;
                c = null;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            m = null;
            c = null;
        }
        AS_BYTES = m;
        CTOR = c;
    }

    private RawNames() {}

    public static boolean exact() {
        return AS_BYTES != null;
    }

    /** The raw bytes of a path (or of a file name, for {@code p.getFileName()}). */
    public static byte[] bytes(Path p) {
        if (AS_BYTES != null && p.getFileSystem() == FS) {
            try {
                return ((byte[]) AS_BYTES.invoke(p)).clone();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return p.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The raw bytes of the last name element. */
    public static byte[] name(Path p) {
        Path f = p.getFileName();
        return f == null ? new byte[0] : bytes(f);
    }

    /** {@code dir} resolved against a name given as raw bytes. */
    public static Path resolve(Path dir, byte[] name) {
        return dir.resolve(path(name));
    }

    /** A relative or absolute path made from raw bytes. */
    public static Path path(byte[] raw) {
        if (CTOR != null) {
            try {
                return (Path) CTOR.newInstance(FS, raw.clone());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return FS.getPath(new String(raw, StandardCharsets.UTF_8));
    }

    /** A name for messages: UTF-8 where valid, \xNN escapes otherwise. */
    public static String display(byte[] raw) {
        StringBuilder sb = new StringBuilder();
        java.nio.charset.CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder();
        try {
            return dec.decode(java.nio.ByteBuffer.wrap(raw)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            for (byte b : raw) {
                int v = b & 0xff;
                if (v >= 0x20 && v < 0x7f && v != '\\') {
                    sb.append((char) v);
                } else {
                    sb.append(String.format("\\x%02x", v));
                }
            }
            return sb.toString();
        }
    }

    /** Unsigned lexicographic comparison, the order of Nix, SquashFS and EROFS. */
    public static int compare(byte[] a, byte[] b) {
        return java.util.Arrays.compareUnsigned(a, b);
    }
}
