package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.ImageFs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The fuzz driver against a toy image format: a careful reader passes, each kind of bug is caught. */
class ImageFuzzTest {
    enum Bug { NONE, NO_BOUNDS_CHECK, ENDLESS_LOOP, UNBOUNDED_ALLOCATION, UNSAFE_NAME, DIRECTORY_CYCLE }

    /** TOY1, u8 count, then count x (u8 name length, name, u32 size, data). */
    static byte[] toyImage(Map<String, byte[]> files) {
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put("TOY1".getBytes(StandardCharsets.US_ASCII)).put((byte) files.size());
        files.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            byte[] n = e.getKey().getBytes(StandardCharsets.US_ASCII);
            b.put((byte) n.length).put(n).putInt(e.getValue().length).put(e.getValue());
        });
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    record Toy(Bug bug, List<ImageFs.Child> kids) implements ImageFs {
        static Toy open(Path p, Bug bug) throws IOException {
            byte[] img = Files.readAllBytes(p);
            ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
            if (bug == Bug.NO_BOUNDS_CHECK) {
                b.position(4);
            } else if (img.length < 5 || img[0] != 'T' || img[1] != 'O' || img[2] != 'Y' || img[3] != '1') {
                throw new CorruptImageException("bad magic");
            } else {
                b.position(4);
            }
            int count = b.get() & 0xff;
            if (bug == Bug.ENDLESS_LOOP && count == 0xff) {
                while (!Thread.currentThread().isInterrupted()) { // a real hang would not stop; this one lets the JVM go on
                    Thread.onSpinWait();
                }
                throw new java.io.InterruptedIOException("stopped");
            }
            List<ImageFs.Child> kids = new ArrayList<>();
            byte[] prev = null;
            for (int i = 0; i < count; i++) {
                if (bug != Bug.NO_BOUNDS_CHECK && b.remaining() < 1) {
                    throw new CorruptImageException("truncated at entry " + i);
                }
                int nl = b.get() & 0xff;
                if (bug != Bug.NO_BOUNDS_CHECK && b.remaining() < nl + 4) {
                    throw new CorruptImageException("truncated name at entry " + i);
                }
                byte[] name = new byte[nl];
                b.get(name);
                int size = b.getInt();
                if (bug == Bug.UNBOUNDED_ALLOCATION) {
                    byte[] data = new byte[Math.max(0, Math.min(size, 300 << 20))]; // bounded here only to keep the test cheap
                    b.get(data, 0, Math.min(data.length, b.remaining()));
                    kids.add(new ImageFs.Child(name, file(data)));
                    continue;
                }
                if (size < 0 || size > b.remaining()) {
                    throw new CorruptImageException("entry " + i + " size " + size + " beyond the image");
                }
                byte[] data = new byte[size];
                b.get(data);
                if (bug != Bug.UNSAFE_NAME) {
                    String s = new String(name, StandardCharsets.ISO_8859_1);
                    if (nl == 0 || s.equals(".") || s.equals("..") || s.indexOf('/') >= 0 || s.indexOf(0) >= 0
                            || (prev != null && java.util.Arrays.compareUnsigned(prev, name) >= 0)) {
                        throw new CorruptImageException("bad name at entry " + i);
                    }
                }
                prev = name;
                kids.add(new ImageFs.Child(name, file(data)));
            }
            return new Toy(bug, kids);
        }

        static ImageFs.FileNode file(byte[] data) {
            return new ImageFs.FileNode() {
                public int mode() {
                    return 0444;
                }

                public int uid() {
                    return 0;
                }

                public int gid() {
                    return 0;
                }

                public long mtime() {
                    return 0;
                }

                public long size() {
                    return data.length;
                }

                public InputStream open() {
                    return new ByteArrayInputStream(data);
                }
            };
        }

        public String type() {
            return "toy";
        }

        public Node root() {
            List<ImageFs.Child> k = new ArrayList<>(kids);
            ImageFs.DirNode root = new ImageFs.DirNode() {
                public int mode() {
                    return 0755;
                }

                public int uid() {
                    return 0;
                }

                public int gid() {
                    return 0;
                }

                public long mtime() {
                    return 0;
                }

                public List<ImageFs.Child> children() {
                    return k;
                }
            };
            if (bug == Bug.DIRECTORY_CYCLE && k.size() == 2) {
                // a mutant with two entries lists the root again under "zz": an endless directory graph
                k.add(new ImageFs.Child("zz".getBytes(StandardCharsets.US_ASCII), root));
            }
            return root;
        }

        public Map<String, String> summary() {
            return Map.of("entries", Integer.toString(kids.size()));
        }

        public void close() {}
    }

    static ImageFuzz fuzz(Bug bug) {
        return ImageFuzz.reader("toy-" + bug, p -> Toy.open(p, bug))
                .seed(toyImage(Map.of("a", "hello".getBytes(StandardCharsets.US_ASCII), "b", new byte[300], "c", new byte[0])))
                .seed(toyImage(Map.of("x", TestTrees.random(1, 2000))))
                .perCaseDeadline(Duration.ofSeconds(5))
                .allocationCap(64L << 20)
                .masterSeed(42);
    }

    @Test
    void carefulReaderPasses() throws Exception {
        ImageFuzz.Result r = fuzz(Bug.NONE).budget(Duration.ofSeconds(2)).run();
        assertTrue(r.cases() > 100, r.toString());
        assertTrue(r.rejected() > 0 && r.walked() > 0, r.toString());
        assertEquals(r.cases(), r.rejected() + r.walked());
    }

    @Test
    void sameMasterSeedSameMutants() {
        ImageFuzz f = fuzz(Bug.NONE);
        long s = ImageFuzz.mix(42, 7);
        assertTrue(java.util.Arrays.equals(f.mutant(s), fuzz(Bug.NONE).mutant(s)));
    }

    @Test
    void eachBugIsCaughtWithItsSeed() {
        for (Bug bug : List.of(Bug.NO_BOUNDS_CHECK, Bug.ENDLESS_LOOP, Bug.UNBOUNDED_ALLOCATION, Bug.UNSAFE_NAME, Bug.DIRECTORY_CYCLE)) {
            AssertionError e = assertThrows(AssertionError.class, () -> fuzz(bug).budget(Duration.ofSeconds(20))
                    .perCaseDeadline(Duration.ofSeconds(bug == Bug.ENDLESS_LOOP ? 1 : 5)).run(), bug.toString());
            String m = e.getMessage();
            assertTrue(m.contains("master seed 42") && m.contains("case seed"), m);
            switch (bug) {
                case NO_BOUNDS_CHECK -> assertTrue(m.contains("threw java.nio.BufferUnderflowException")
                        || m.contains("threw java.lang.IndexOutOfBounds") || m.contains("threw java.lang"), m);
                case ENDLESS_LOOP -> assertTrue(m.contains("hang or endless loop"), m);
                case UNBOUNDED_ALLOCATION -> assertTrue(m.contains("allocated") || m.contains("OutOfMemoryError")
                        || m.contains("hang or endless loop"), m);
                case UNSAFE_NAME -> assertTrue(m.contains("unsafe child name") || m.contains("unsigned-byte order"), m);
                case DIRECTORY_CYCLE -> assertTrue(m.contains("directory graph cut at"), m);
                default -> throw new AssertionError();
            }
        }
    }
}
