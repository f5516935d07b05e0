package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class NamesTest {
    static void split(String in, String name, String version, String output) {
        assertEquals(new PackageName(name, version, output), PackageName.of(in), in);
    }

    @Test
    void splitsLikeNix() {
        // builtins.parseDrvName vectors from Nix's own tests, plus diff-closures' output stripping
        split("ripgrep-1.2", "ripgrep", "1.2", "");
        split("rip-grep-1.2", "rip-grep", "1.2", "");
        split("7zip_archiver-0.2", "7zip_archiver", "0.2", "");
        split("gcc-1-2", "gcc", "1-2", "");
        split("bash--1-2", "bash", "-1-2", "");
        split("xvidtune-?1-2", "xvidtune", "?1-2", "");
        split("apache-httpd-2.0.48", "apache-httpd", "2.0.48", "");
        split("gcc-12.2.0-lib", "gcc", "12.2.0", "lib");
        split("glibc-2.37-8-bin", "glibc", "2.37-8", "bin");
        split("openssl-3.0.12-lib64", "openssl", "3.0.12", "lib64");
        split("hello", "hello", "", "");
        split("nixos-system-nixos-23.11", "nixos-system-nixos", "23.11", "");
        // Nix's documented ambiguity: a trailing letters-only component is taken as an output name
        split("source", "source", "", "");
        split("foo-unstable", "foo", "", "unstable");
    }

    @Test
    void handWrittenOutputMatcherEqualsNixsRegex() {
        java.util.Random r = new java.util.Random(3);
        String alphabet = "ab-z0l1i3264.";
        for (int i = 0; i < 20000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(12);
            for (int k = 0; k < len; k++) {
                sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String s = i % 3 == 0 ? sb + "-lib" + (r.nextBoolean() ? "32" : "64") : sb.toString();
            java.util.regex.Matcher m = PackageName.OUTPUT_REGEX.matcher(s);
            int dash = s.lastIndexOf('-');
            boolean hand = dash >= 0 && PackageName.isOutputName(s, dash + 1);
            assertEquals(m.matches(), hand, s);
            if (hand) {
                assertEquals(m.group(2), s.substring(dash + 1), s);
            }
        }
    }

    @Test
    void globsMatchNamesBaseNamesAndPaths() {
        StorePath p = StorePath.parse("/nix/store", "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-gcc-12.2.0");
        StorePath dev = StorePath.parse("/nix/store", "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-openssl-3.0-dev");
        assertTrue(Glob.compile("*-gcc-*").matches(p));
        assertTrue(Glob.compile("gcc-*").matches(p));
        assertTrue(Glob.compile("gcc-1[0-9].*").matches(p));
        assertFalse(Glob.compile("gcc-[!1]*").matches(p));
        assertTrue(Glob.compile("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-gcc-12.2.0").matches(p));
        assertTrue(Glob.compile("*-dev").matches(dev));
        assertFalse(Glob.compile("*-dev").matches(p));
        assertFalse(Glob.compile("gcc").matches(p));
        assertTrue(Glob.compile("g?c-12.2.0").matches(p));
        assertFalse(Glob.compile("(gcc)").matches(p));
        assertThrows(UserError.class, () -> Glob.compile("gcc-[12"));
        assertThrows(UserError.class, () -> Glob.compile(""));
    }

    @Test
    void growthLimits() {
        assertEquals(50L << 20, Growth.parse("50M").allowed(1));
        assertEquals(new BigDecimal("5"), Growth.parse("5%").percent());
        assertEquals(50, Growth.parse("5%").allowed(1000));
        assertEquals(15, Growth.parse("1.5%").allowed(1000));
        assertThrows(UserError.class, () -> Growth.parse("x%"));
        assertThrows(UserError.class, () -> Growth.parse("-5%"));
        assertThrows(UserError.class, () -> Growth.parse("lots"));
    }

    @Test
    void diffGroupsByPackageLikeDiffClosures() {
        List<ClosureDiff.Member> before = List.of(
                new ClosureDiff.Member("glibc-2.37-8", 30_000),
                new ClosureDiff.Member("glibc-2.37-8-bin", 5_000),
                new ClosureDiff.Member("openssl-3.0.12", 100_000),
                new ClosureDiff.Member("zlib-1.3", 1_000),
                new ClosureDiff.Member("old-tool-1.0", 20_000));
        List<ClosureDiff.Member> after = List.of(
                new ClosureDiff.Member("glibc-2.38-1", 31_000),
                new ClosureDiff.Member("glibc-2.38-1-bin", 5_000),
                new ClosureDiff.Member("openssl-3.0.12", 120_000),
                new ClosureDiff.Member("zlib-1.3", 1_100),
                new ClosureDiff.Member("new-tool-2.0", 50_000));
        ClosureDiff.Result d = ClosureDiff.compute(before, after);
        assertEquals(156_000, d.sizeBefore());
        assertEquals(207_100, d.sizeAfter());
        assertEquals(List.of("glibc", "new-tool", "old-tool", "openssl"), d.packages().stream().map(ClosureDiff.Package::name).toList());
        ClosureDiff.Package glibc = d.packages().get(0);
        assertEquals(List.of("2.37-8"), glibc.versionsBefore());
        assertEquals(List.of("2.38-1"), glibc.versionsAfter());
        assertEquals(ClosureDiff.Change.CHANGED, glibc.change());
        assertEquals(1_000, glibc.sizeDelta());
        assertEquals(ClosureDiff.Change.ADDED, d.packages().get(1).change());
        assertEquals(ClosureDiff.Change.REMOVED, d.packages().get(2).change());
        ClosureDiff.Package openssl = d.packages().get(3);
        assertEquals(List.of(), openssl.versionsBefore());
        assertEquals(20_000, openssl.sizeDelta());
        assertEquals("+19.5 KiB", SizeReportRenderer.diffLine(openssl));
        assertEquals("2.37-8 → 2.38-1", SizeReportRenderer.diffLine(glibc));
        assertEquals("∅ → 2.0, +48.8 KiB", SizeReportRenderer.diffLine(d.packages().get(1)));
    }
}
