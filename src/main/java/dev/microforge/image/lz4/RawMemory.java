package dev.microforge.image.lz4;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteOrder;

/**
 * Unchecked little-endian reads and writes of {@code byte[]} and {@code int[]} elements, for {@link Lz4Fast}'s
 * inner loops, where the JIT cannot prove the array bounds checks away and they cost about a third of the time.
 * Backed by {@code sun.misc.Unsafe} (module {@code jdk.unsupported}, part of every standard JDK), reached through
 * method handles so that the build carries no proprietary-API warning; constant method handles compile to the
 * same machine code as direct calls.
 *
 * <p><b>Nothing here checks an index.</b> Every caller proves its indexes in range before the call; an index
 * out of range corrupts the heap instead of throwing.
 */
final class RawMemory {
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
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            throw new ExceptionInInitializerError("the fast LZ4 path needs a little-endian CPU");
        }
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            MethodHandles.Lookup l = MethodHandles.lookup();
            GET_BYTE = bind(l, unsafeClass, unsafe, "getByte", MethodType.methodType(byte.class, Object.class, long.class));
            GET_INT = bind(l, unsafeClass, unsafe, "getInt", MethodType.methodType(int.class, Object.class, long.class));
            GET_LONG = bind(l, unsafeClass, unsafe, "getLong", MethodType.methodType(long.class, Object.class, long.class));
            PUT_BYTE = bind(l, unsafeClass, unsafe, "putByte", MethodType.methodType(void.class, Object.class, long.class, byte.class));
            PUT_SHORT = bind(l, unsafeClass, unsafe, "putShort", MethodType.methodType(void.class, Object.class, long.class, short.class));
            PUT_INT = bind(l, unsafeClass, unsafe, "putInt", MethodType.methodType(void.class, Object.class, long.class, int.class));
            PUT_LONG = bind(l, unsafeClass, unsafe, "putLong", MethodType.methodType(void.class, Object.class, long.class, long.class));
            MethodHandle base = bind(l, unsafeClass, unsafe, "arrayBaseOffset", MethodType.methodType(int.class, Class.class));
            MethodHandle scale = bind(l, unsafeClass, unsafe, "arrayIndexScale", MethodType.methodType(int.class, Class.class));
            BYTES = (int) base.invokeExact(byte[].class);
            INTS = (int) base.invokeExact(int[].class);
            if ((int) scale.invokeExact(byte[].class) != 1 || (int) scale.invokeExact(int[].class) != 4) {
                throw new ExceptionInInitializerError("unexpected array layout");
            }
        } catch (ExceptionInInitializerError e) {
            throw e;
        } catch (Throwable e) {
            throw new ExceptionInInitializerError("the fast LZ4 path needs sun.misc.Unsafe (module jdk.unsupported): " + e);
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
