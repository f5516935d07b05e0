package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.microforge.util.UserError;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The builder and the {@code withX} copies set exactly the option they name; validation is the constructor's. */
class ImageOptionsTest {
    private static final ImageOptions ALL_SET = new ImageOptions("xz", 7, 65536L, 3, 16384L, "lbl",
            "0f0e0d0c-0b0a-0908-0706-050403020100", true, false, 1234L, "x86");

    @Test
    void theBuilderSetsEveryComponent() {
        ImageOptions built = ImageOptions.builder().compression("xz").level(7).blockSize(65536L).threads(3)
                .pcluster(16384L).label("lbl").uuid("0f0e0d0c-0b0a-0908-0706-050403020100").tailPacking(true)
                .fragments(false).mtime(1234L).xzBcj("x86").build();
        assertEquals(ALL_SET, built);
        assertEquals(ALL_SET, ALL_SET.toBuilder().build());
    }

    @Test
    void eachWithChangesOneComponent() {
        ImageOptions other = new ImageOptions("gzip", 1, 4096L, 5, 65536L, "other",
                "00000000-0000-0000-0000-000000000001", false, true, 99L, "none");
        List<UnaryOperator<ImageOptions>> withs = List.of(
                o -> o.withCompression(other.compression()), o -> o.withLevel(other.level()),
                o -> o.withBlockSize(other.blockSize()), o -> o.withThreads(other.threads()),
                o -> o.withPcluster(other.pcluster()), o -> o.withLabel(other.label()), o -> o.withUuid(other.uuid()),
                o -> o.withTailPacking(other.tailPacking()), o -> o.withFragments(other.fragments()),
                o -> o.withMtime(other.mtime()), o -> o.withXzBcj(other.xzBcj()));
        var components = ImageOptions.class.getRecordComponents();
        assertEquals(components.length, withs.size());
        for (int i = 0; i < withs.size(); i++) {
            ImageOptions changed = withs.get(i).apply(ALL_SET);
            for (int c = 0; c < components.length; c++) {
                Object was = value(components[c], ALL_SET);
                Object now = value(components[c], changed);
                if (c == i) {
                    assertEquals(value(components[c], other), now, components[c].getName());
                    assertNotEquals(was, now, components[c].getName());
                } else {
                    assertEquals(was, now, "with #" + i + " changed " + components[c].getName());
                }
            }
        }
    }

    @Test
    void defaultsLeaveTheFormatOptionsUnset() {
        ImageOptions d = ImageOptions.defaults();
        assertEquals(d, ImageOptions.builder().build());
        assertEquals(null, d.compression());
        assertEquals(null, d.level());
        assertEquals(null, d.blockSize());
        assertEquals(null, d.pcluster());
        assertEquals(null, d.tailPacking());
        assertEquals(null, d.fragments());
        assertEquals(null, d.xzBcj());
    }

    @Test
    void buildValidatesAsTheConstructorDoes() {
        assertThrows(UserError.class, () -> ImageOptions.builder().threads(0).build());
        assertThrows(IllegalArgumentException.class, () -> ImageOptions.builder().mtime(-1).build());
        assertThrows(IllegalArgumentException.class, () -> ImageOptions.builder().mtime(1L << 32).build());
    }

    private static Object value(RecordComponent c, ImageOptions o) {
        try {
            return c.getAccessor().invoke(o);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
