package dev.microforge.image.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.fs.RegularFile;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Duplicates by size, checksum and bytes; the first file in order is canonical at any thread count. */
class DuplicateFinderTest {
    @TempDir
    Path tmp;

    private RegularFile file(String name, byte[] content) throws Exception {
        Path p = Files.write(tmp.resolve(name), content);
        return RegularFile.onDisk(p, content.length, false);
    }

    @Test
    void candidatesAreTheNonEmptyFilesWhoseSizeAnotherShares() {
        assertArrayEquals(new boolean[] {true, false, true, false, false, true},
                DuplicateFinder.candidates(new long[] {5, 6, 5, 0, 0, 5}));
    }

    @Test
    void aChecksumCollisionIsDecidedByTheBytes() throws Exception {
        // every file gets the same (deliberately colliding) checksum: only the byte comparison tells them apart
        List<byte[]> contents = List.of(TestTrees.random(1, 4096), TestTrees.random(2, 4096), TestTrees.random(1, 4096),
                TestTrees.random(2, 4096), TestTrees.random(3, 4096));
        List<Integer> compared = new ArrayList<>();
        DuplicateFinder<Integer> finder = new DuplicateFinder<>((c, l) -> {
            compared.add(c);
            return Arrays.equals(contents.get(c), contents.get(l));
        });
        int[] canonical = new int[contents.size()];
        for (int i = 0; i < contents.size(); i++) {
            canonical[i] = finder.canonicalOf(i, 4096, 42).orElse(i);
        }
        assertArrayEquals(new int[] {0, 1, 0, 1, 4}, canonical);
        // a different size or checksum is never compared
        assertEquals(Optional.empty(), finder.canonicalOf(9, 4097, 42));
        assertEquals(Optional.empty(), finder.canonicalOf(10, 4096, 43));
        // file 1 is compared with 0; 2 with 0 (equal); 3 with 0 and 1 (equal); 4 with 0 and 1
        assertEquals(List.of(0, 0, 0, 1, 0, 1), compared);
    }

    @Test
    void resolveGivesTheFirstInOrderWhateverTheThreadCount() throws Exception {
        List<RegularFile> files = new ArrayList<>();
        byte[] a = TestTrees.random(7, 300_000);
        byte[] b = a.clone();
        b[299_999] ^= 1; // same size, differs in the last byte
        for (int i = 0; i < 40; i++) {
            byte[] c = switch (i % 4) {
                case 0 -> a;
                case 1 -> b;
                case 2 -> TestTrees.random(100 + i, 1000 + i); // unique
                default -> new byte[0];
            };
            files.add(file("f" + i, c));
        }
        files.add(RegularFile.inMemory(a, true));
        int[] one = DuplicateFinder.resolve(files, 1);
        for (int i = 0; i < files.size(); i++) {
            int expect = i == 40 || i % 4 == 0 ? 0 : i % 4 == 1 ? 1 : i;
            assertEquals(expect, one[i], "file " + i);
        }
        for (int t : new int[] {2, 8}) {
            assertArrayEquals(one, DuplicateFinder.resolve(files, t), t + " threads");
        }
    }

    @Test
    void checksumIsCrc32cOfTheWholeFileAndSameBytesComparesAll() throws Exception {
        byte[] a = TestTrees.random(9, 1 << 20);
        byte[] b = a.clone();
        b[b.length / 2] ^= 0x10;
        RegularFile fa = file("a", a);
        RegularFile fa2 = file("a2", a);
        RegularFile fb = file("b", b);
        CRC32C crc = new CRC32C();
        crc.update(a);
        assertEquals(crc.getValue(), DuplicateFinder.checksum(fa));
        assertTrue(DuplicateFinder.sameBytes(fa, fa2));
        assertFalse(DuplicateFinder.sameBytes(fa, fb));
        assertFalse(DuplicateFinder.sameBytes(fa, file("short", new byte[3])));
    }

    @Test
    void aFileThatVanishesBeforeItsChecksumIsTheCleanError() throws Exception {
        byte[] a = TestTrees.random(1, 5000);
        RegularFile f1 = file("x1", a);
        RegularFile f2 = file("x2", a);
        Files.delete(f2.source());
        for (int t : new int[] {1, 4}) {
            UserError e = assertThrows(UserError.class, () -> DuplicateFinder.resolve(List.of(f1, f2), t));
            assertEquals(f2.source() + ": file vanished during the build", e.getMessage());
        }
    }
}
