package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The byte-level diff against the String-based one it replaced ({@link LegacyClosureDiff}), on random closures. */
class ClosureDiffTest {
    static final String[] PARTS = {"glibc", "gcc", "lib", "x", "-", "-", "-", "1", "2.3", "bin", "dev", "lib32", "lib64",
        "A", "Z", "unstable", "2024", "p", "_", ".", "é", "-é"};

    static String name(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int k = 1 + r.nextInt(5);
        for (int i = 0; i < k; i++) {
            sb.append(PARTS[r.nextInt(PARTS.length)]);
        }
        return sb.toString();
    }

    static String render(ClosureDiff.Result d) {
        StringBuilder sb = new StringBuilder(d.pathsBefore() + " " + d.sizeBefore() + " " + d.pathsAfter() + " " + d.sizeAfter() + "\n");
        for (ClosureDiff.Package p : d.packages()) {
            sb.append(p.name()).append(' ').append(p.change().label()).append(' ').append(p.versionsBefore()).append(' ')
                    .append(p.versionsAfter()).append(' ').append(p.sizeBefore()).append(' ').append(p.sizeAfter()).append('\n');
        }
        return sb.toString();
    }

    @Test
    void sameAsTheStringDiff() {
        SplittableRandom r = new SplittableRandom(7);
        for (int iter = 0; iter < 2000; iter++) {
            int n = r.nextInt(3000 / (1 + iter % 50) + 1);
            List<ClosureDiff.Member> before = new ArrayList<>();
            List<ClosureDiff.Member> after = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String nm = name(r);
                long size = r.nextInt(10) == 0 ? -1 : r.nextLong(1 << 16);
                int where = r.nextInt(4);
                if (where != 1) {
                    before.add(new ClosureDiff.Member(nm, size));
                }
                if (where != 0) {
                    long s2 = where == 3 ? size + r.nextInt(20000) : size;
                    after.add(new ClosureDiff.Member(nm, s2));
                }
            }
            assertEquals(render(LegacyClosureDiff.compute(before, after)), render(ClosureDiff.compute(before, after)), "iteration " + iter);
        }
    }
}
