package dev.microforge.util;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Arrays;

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

    /**
     * The one escaper for human-readable output (listings, reports, error messages): a name or path as text that
     * is safe on a terminal and unambiguous. Valid UTF-8 is kept, except that control characters (C0, DEL, C1),
     * the Unicode line/paragraph separators and the bidirectional overrides and isolates are escaped, as is the
     * backslash ({@code \\}); tab, LF, CR and ESC become {@code \t}, {@code \n}, {@code \r}, {@code \e}; every
     * other escaped or invalid-UTF-8 byte is {@code \xNN}. Machine-readable output (JSON) uses {@link #text}.
     */
    public static String display(byte[] raw) {
        StringBuilder sb = new StringBuilder(raw.length + 8);
        int i = 0;
        while (i < raw.length) {
            int b = raw[i] & 0xff;
            int len = utf8Length(raw, i);
            if (len == 0) {
                escapeByte(sb, b);
                i++;
            } else if (len == 1) {
                if (b == '\\') {
                    sb.append("\\\\");
                } else if (b < 0x20 || b == 0x7f) {
                    escapeByte(sb, b);
                } else {
                    sb.append((char) b);
                }
                i++;
            } else {
                int cp = new String(raw, i, len, StandardCharsets.UTF_8).codePointAt(0);
                if (unsafe(cp)) {
                    for (int k = 0; k < len; k++) {
                        escapeByte(sb, raw[i + k] & 0xff);
                    }
                } else {
                    sb.appendCodePoint(cp);
                }
                i += len;
            }
        }
        return sb.toString();
    }

    /**
     * {@link #display(byte[])} for text that is already a message (it may quote names that went through
     * {@code display}): only the unsafe characters are escaped, in the same notation; backslashes stay as they
     * are, so escaping twice changes nothing. Rendering a message through this keeps it on one line.
     */
    public static String display(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int n = Character.charCount(cp);
            boolean surrogate = cp >= 0xd800 && cp <= 0xdfff;
            boolean bad = cp < 0x20 || unsafe(cp) || surrogate;
            if (bad && sb == null) {
                sb = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (sb != null) {
                if (!bad) {
                    sb.appendCodePoint(cp);
                } else if (surrogate) {
                    sb.append('\ufffd');
                } else {
                    for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                        escapeByte(sb, b & 0xff);
                    }
                }
            }
            i += n;
        }
        return sb == null ? text : sb.toString();
    }

    /**
     * A name as a string for machine-readable output: the exact text when the bytes are valid UTF-8 (JSON
     * escapes control characters itself), {@code \xNN} escapes (and {@code \\}) otherwise.
     */
    public static String text(byte[] raw) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder();
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

    /** Code points {@link #display} escapes besides ASCII controls: DEL, C1, line separators, bidi controls. */
    private static boolean unsafe(int cp) {
        return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029
                || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f
                || cp == 0x061c;
    }

    private static void escapeByte(StringBuilder sb, int b) {
        switch (b) {
            case '\t' -> sb.append("\\t");
            case '\n' -> sb.append("\\n");
            case '\r' -> sb.append("\\r");
            case 0x1b -> sb.append("\\e");
            default -> {
                sb.append("\\x");
                sb.append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 0xf, 16));
            }
        }
    }

    /** Length of the well-formed UTF-8 sequence at {@code i} (1-4), or 0 when the byte there starts none. */
    private static int utf8Length(byte[] raw, int i) {
        int b = raw[i] & 0xff;
        if (b < 0x80) {
            return 1;
        }
        int len;
        int min;
        if (b >= 0xc2 && b <= 0xdf) {
            len = 2;
            min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            len = 3;
            min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            len = 4;
            min = 0x10000;
        } else {
            return 0;
        }
        if (i + len > raw.length) {
            return 0;
        }
        int cp = b & (0xff >> (len + 1));
        for (int k = 1; k < len; k++) {
            int c = raw[i + k] & 0xff;
            if ((c & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (c & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        return len;
    }

    /** Unsigned lexicographic comparison, the order of Nix, SquashFS and EROFS. */
    public static int compare(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }
}
