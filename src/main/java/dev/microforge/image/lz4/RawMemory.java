package dev.microforge.image.lz4;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Little-endian reads and writes of {@code byte[]} and {@code int[]} elements for {@link Lz4Fast}'s inner loops,
 * where the JIT cannot prove the array bounds checks away and they cost about a third of the time. Backed by
 * {@code sun.misc.Unsafe} (module {@code jdk.unsupported}, part of every standard JDK), reached through method
 * handles so that the build carries no proprietary-API warning; constant method handles compile to the same
 * machine code as direct calls.
 *
 * <p>Where that is not possible (a runtime without {@code jdk.unsupported}, a big-endian CPU, an unexpected array
 * layout) or the system property {@value #PROPERTY} is {@code false}, the same method handles lead to ordinary
 * checked access instead (array indexing, little-endian {@link VarHandle} views): the same results, slower, never
 * an initialization error. {@link #UNCHECKED} says which path this JVM took; the accessors themselves do not
 * branch on it.
 *
 * <p><b>On the unchecked path nothing checks an index.</b> Every caller proves its indexes in range before the
 * call; an index out of range corrupts the heap instead of throwing.
 */
final class RawMemory {
    /** System property: {@code false} selects the checked path even where the unchecked one is available. */
    static final String PROPERTY = "microforge.lz4.unsafe";
    /** Whether the accessors are unchecked ({@code sun.misc.Unsafe}); false: checked array access. */
    static final boolean UNCHECKED;
    /** Why the checked path was taken, or null. */
    static final String FALLBACK_REASON;

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final MethodHandle GET_BYTE;
    private static final MethodHandle GET_INT;
    private static final MethodHandle GET_LONG;
    private static final MethodHandle PUT_BYTE;
    private static final MethodHandle PUT_SHORT;
    private static final MethodHandle PUT_INT;
    private static final MethodHandle PUT_LONG;
    private static final long BYTES;
    private static final long INTS;

    static {
        MethodHandle[] h = new MethodHandle[7];
        long[] bases = new long[2];
        String why = unsafeAccess(h, bases);
        UNCHECKED = why == null;
        FALLBACK_REASON = why;
        if (why != null) {
            checkedAccess(h, bases);
        }
        GET_BYTE = h[0];
        GET_INT = h[1];
        GET_LONG = h[2];
        PUT_BYTE = h[3];
        PUT_SHORT = h[4];
        PUT_INT = h[5];
        PUT_LONG = h[6];
        BYTES = bases[0];
        INTS = bases[1];
    }

    /**
     * Fills {@code h} with the checked accessors, which take the same arguments as {@code sun.misc.Unsafe}'s with
     * array base offsets of 0: the element index of a {@code byte[]}, four times the index of an {@code int[]}.
     */
    private static void checkedAccess(MethodHandle[] h, long[] bases) {
        MethodHandles.Lookup l = MethodHandles.lookup();
        try {
            h[0] = l.findStatic(RawMemory.class, "checkedGetByte", MethodType.methodType(byte.class, Object.class, long.class));
            h[1] = l.findStatic(RawMemory.class, "checkedGetInt", MethodType.methodType(int.class, Object.class, long.class));
            h[2] = l.findStatic(RawMemory.class, "checkedGetLong", MethodType.methodType(long.class, Object.class, long.class));
            h[3] = l.findStatic(RawMemory.class, "checkedPutByte", MethodType.methodType(void.class, Object.class, long.class, byte.class));
            h[4] = l.findStatic(RawMemory.class, "checkedPutShort", MethodType.methodType(void.class, Object.class, long.class, short.class));
            h[5] = l.findStatic(RawMemory.class, "checkedPutInt", MethodType.methodType(void.class, Object.class, long.class, int.class));
            h[6] = l.findStatic(RawMemory.class, "checkedPutLong", MethodType.methodType(void.class, Object.class, long.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        bases[0] = 0;
        bases[1] = 0;
    }

    private static byte checkedGetByte(Object a, long i) {
        return ((byte[]) a)[Math.toIntExact(i)];
    }

    private static int checkedGetInt(Object a, long i) {
        if (a instanceof int[] ints) {
            return ints[Math.toIntExact(i >> 2)];
        }
        return (int) INT.get((byte[]) a, Math.toIntExact(i));
    }

    private static long checkedGetLong(Object a, long i) {
        return (long) LONG.get((byte[]) a, Math.toIntExact(i));
    }

    private static void checkedPutByte(Object a, long i, byte v) {
        ((byte[]) a)[Math.toIntExact(i)] = v;
    }

    private static void checkedPutShort(Object a, long i, short v) {
        SHORT.set((byte[]) a, Math.toIntExact(i), v);
    }

    private static void checkedPutInt(Object a, long i, int v) {
        ((int[]) a)[Math.toIntExact(i >> 2)] = v;
    }

    private static void checkedPutLong(Object a, long i, long v) {
        LONG.set((byte[]) a, Math.toIntExact(i), v);
    }

    /** Fills {@code h} and {@code bases} with the unchecked accessors; returns null, or why they cannot be used. */
    private static String unsafeAccess(MethodHandle[] h, long[] bases) {
        if ("false".equals(System.getProperty(PROPERTY))) {
            return PROPERTY + "=false";
        }
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            return "big-endian CPU";
        }
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            MethodHandles.Lookup l = MethodHandles.lookup();
            MethodHandle base = bind(l, unsafeClass, unsafe, "arrayBaseOffset", MethodType.methodType(int.class, Class.class));
            MethodHandle scale = bind(l, unsafeClass, unsafe, "arrayIndexScale", MethodType.methodType(int.class, Class.class));
            if ((int) scale.invokeExact(byte[].class) != 1 || (int) scale.invokeExact(int[].class) != 4) {
                return "unexpected array layout";
            }
            h[0] = bind(l, unsafeClass, unsafe, "getByte", MethodType.methodType(byte.class, Object.class, long.class));
            h[1] = bind(l, unsafeClass, unsafe, "getInt", MethodType.methodType(int.class, Object.class, long.class));
            h[2] = bind(l, unsafeClass, unsafe, "getLong", MethodType.methodType(long.class, Object.class, long.class));
            h[3] = bind(l, unsafeClass, unsafe, "putByte", MethodType.methodType(void.class, Object.class, long.class, byte.class));
            h[4] = bind(l, unsafeClass, unsafe, "putShort", MethodType.methodType(void.class, Object.class, long.class, short.class));
            h[5] = bind(l, unsafeClass, unsafe, "putInt", MethodType.methodType(void.class, Object.class, long.class, int.class));
            h[6] = bind(l, unsafeClass, unsafe, "putLong", MethodType.methodType(void.class, Object.class, long.class, long.class));
            bases[0] = (int) base.invokeExact(byte[].class);
            bases[1] = (int) base.invokeExact(int[].class);
            return null;
        } catch (Throwable e) {
            Arrays.fill(h, null);
            return "sun.misc.Unsafe unavailable (module jdk.unsupported): " + e;
        }
    }

    private RawMemory() {
    }

    private static MethodHandle bind(MethodHandles.Lookup l, Class<?> c, Object receiver, String name, MethodType type)
            throws ReflectiveOperationException {
        return l.findVirtual(c, name, type).bindTo(receiver);
    }

    static byte getByte(byte[] a, int i) {
        try {
            return (byte) GET_BYTE.invokeExact((Object) a, BYTES + i);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static int getInt(byte[] a, int i) {
        try {
            return (int) GET_INT.invokeExact((Object) a, BYTES + i);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static long getLong(byte[] a, int i) {
        try {
            return (long) GET_LONG.invokeExact((Object) a, BYTES + i);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void putByte(byte[] a, int i, int v) {
        try {
            PUT_BYTE.invokeExact((Object) a, BYTES + i, (byte) v);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void putShort(byte[] a, int i, int v) {
        try {
            PUT_SHORT.invokeExact((Object) a, BYTES + i, (short) v);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void putLong(byte[] a, int i, long v) {
        try {
            PUT_LONG.invokeExact((Object) a, BYTES + i, v);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Element {@code i} of an int array. */
    static int getInt(int[] a, int i) {
        try {
            return (int) GET_INT.invokeExact((Object) a, INTS + ((long) i << 2));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void putInt(int[] a, int i, int v) {
        try {
            PUT_INT.invokeExact((Object) a, INTS + ((long) i << 2), v);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        throw new IllegalStateException(e);
    }
}
