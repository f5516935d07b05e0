package dev.microforge.image.lz4;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link RawMemory} degrades instead of failing: with {@code microforge.lz4.unsafe=false} (as where
 * {@code sun.misc.Unsafe} is missing) the classes initialize, take the checked path, and {@link Lz4Fast} writes
 * the same bytes as on the unchecked path, for both {@code compress} and {@code compressDestSize}. The checked
 * copy of the package is loaded in a class loader of its own, so this JVM's classes keep their path.
 */
class RawMemoryFallbackTest {

    @Test
    void checkedPathWritesTheSameBytes() throws Exception {
        assertTrue(RawMemory.UNCHECKED, "this JDK has sun.misc.Unsafe: " + RawMemory.FALLBACK_REASON);
        URL classes = Lz4Fast.class.getProtectionDomain().getCodeSource().getLocation();
        String old = System.getProperty(RawMemory.PROPERTY);
        try (URLClassLoader isolated = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            System.setProperty(RawMemory.PROPERTY, "false");
            Class<?> raw = Class.forName(RawMemory.class.getName(), true, isolated);
            restore(old);
            Field unchecked = raw.getDeclaredField("UNCHECKED");
            unchecked.setAccessible(true);
            assertFalse(unchecked.getBoolean(null), "the property selects the checked path");
            Field reason = raw.getDeclaredField("FALLBACK_REASON");
            reason.setAccessible(true);
            assertEquals(RawMemory.PROPERTY + "=false", reason.get(null));
            // checked: an index out of range throws instead of reading past the array
            Method getLong = raw.getDeclaredMethod("getLong", byte[].class, int.class);
            getLong.setAccessible(true);
            InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> getLong.invoke(null, new byte[12], 5));
            assertInstanceOf(IndexOutOfBoundsException.class, e.getCause());

            Class<?> fastClass = Class.forName(Lz4Fast.class.getName(), true, isolated);
            Constructor<?> ctor = fastClass.getConstructor(int.class);
            Method compress = fastClass.getMethod("compress", byte[].class, int.class, int.class, byte[].class, int.class, int.class);
            Method destSize = fastClass.getMethod("compressDestSize", byte[].class, int.class, int.class, byte[].class, int.class, int.class);
            int blocks = 0;
            List<byte[]> corpus = Lz4FastTest.corpus();
            for (int log : new int[] {12, 14}) {
                Object checked = ctor.newInstance(log);
                Lz4Fast ours = new Lz4Fast(log);
                for (byte[] in : corpus) {
                    for (int off = 0; off < in.length; off += 200_000) {
                        int len = Math.min(in.length - off, off % 400_000 == 0 ? 200_000 : 30_000);
                        byte[] a = new byte[Lz4Fast.maxCompressedLength(len)];
                        byte[] b = new byte[a.length];
                        int n = ours.compress(in, off, len, a, 0, a.length);
                        assertEquals(n, (int) compress.invoke(checked, in, off, len, b, 0, b.length));
                        assertArrayEquals(Arrays.copyOf(a, n), Arrays.copyOf(b, n));
                        for (int cap : new int[] {4096, 17}) {
                            long r1 = ours.compressDestSize(in, off, len, a, 0, cap);
                            long r2 = (long) destSize.invoke(checked, in, off, len, b, 0, cap);
                            assertEquals(r1, r2, "destSize result, hash log " + log + ", cap " + cap);
                            assertArrayEquals(Arrays.copyOf(a, (int) r1), Arrays.copyOf(b, (int) r2));
                            blocks++;
                        }
                    }
                }
            }
            assertTrue(blocks > 50, "compared " + blocks + " blocks");
        } finally {
            restore(old);
        }
    }

    private static void restore(String old) {
        if (old == null) {
            System.clearProperty(RawMemory.PROPERTY);
        } else {
            System.setProperty(RawMemory.PROPERTY, old);
        }
    }
}
