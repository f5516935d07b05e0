package dev.microforge.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image commands end to end through the CLI entry point. */
class ImageCommandTest {
    @TempDir
    Path tmp;

    StoreFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = StoreFixture.create(tmp.resolve("fx"), 4);
    }

    private Cli.Result build(String... extra) {
        String[] base = {"image", "build", "--type", "squashfs", "--closure", fx.closureFile().toString(),
            "--store-dir", fx.storeDir(), "--threads", "2"};
        return Cli.run(Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new));
    }

    @Test
    void buildLsExtractVerify() throws Exception {
        Path img = tmp.resolve("store.img");
        Cli.Result r = build("-o", img.toString(), "--registration", "registration");
        assertEquals(0, r.exitCode(), r.err());
        Cli.Result ls = Cli.run("image", "ls", img.toString());
        assertEquals(0, ls.exitCode(), ls.err());
        assertTrue(ls.out().contains("/registration"), ls.out());
        assertTrue(ls.out().startsWith("dr-xr-xr-x 0/0 0 /\n"), ls.out());
        Cli.Result sum = Cli.run("image", "ls", "--summary", img.toString());
        assertTrue(sum.out().contains("compression: zstd"), sum.out());
        Path out = tmp.resolve("out");
        Cli.Result ex = Cli.run("image", "extract", img.toString(), out.toString());
        assertEquals(0, ex.exitCode(), ex.err());
        assertEquals(Files.readString(fx.closureFile()), Files.readString(out.resolve("registration")));
        Cli.Result v = Cli.run("image", "verify", img.toString(), "--closure", fx.closureFile().toString(),
                "--store-dir", fx.storeDir(), "--registration", "registration");
        assertEquals(0, v.exitCode(), v.err() + v.out());
        assertTrue(v.out().contains("ok: " + fx.graph().size() + " store paths"), v.out());
        // without --registration the generated file is an extra entry: exit 3 with a report
        Cli.Result v2 = Cli.run("image", "verify", img.toString(), "--closure", fx.closureFile().toString(), "--store-dir", fx.storeDir());
        assertEquals(3, v2.exitCode(), v2.err() + v2.out());
        assertTrue(v2.out().contains("not in closure: /registration"), v2.out());
    }

    @Test
    void verifyFindsChangedContent() throws Exception {
        Path img = tmp.resolve("store.img");
        assertEquals(0, build("-o", img.toString()).exitCode());
        // change one store path on disk and record its new hash in a closure: the image no longer matches
        String victim = fx.graph().paths().get(3).path().baseName();
        Path f = fx.store().resolve(victim).resolve("ref");
        Files.writeString(f, "changed\n");
        StoreFixture fx2 = StoreFixture.rehash(fx, tmp.resolve("closure2"));
        Cli.Result v = Cli.run("image", "verify", img.toString(), "--closure", fx2.closureFile().toString(), "--store-dir", fx.storeDir());
        assertEquals(3, v.exitCode(), v.err() + v.out());
        assertTrue(v.out().contains("content differs: " + fx.storeDir() + "/" + victim), v.out());
        assertTrue(v.err().contains("1 with different content"), v.err());
    }

    @Test
    void missingStorePathIsOneLineAndLeavesNoOutput() throws Exception {
        String victim = fx.graph().paths().get(1).path().baseName();
        Files.delete(fx.store().resolve(victim));
        Path img = tmp.resolve("store.img");
        Cli.Result r = build("-o", img.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains(victim) && r.err().contains("missing on disk"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertNoOutput(img);
    }

    @Test
    void badOptions() throws Exception {
        Path img = tmp.resolve("store.img");
        Cli.Result r = build("-o", img.toString(), "--compression", "brotli");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("brotli"), r.err());
        r = build("-o", img.toString(), "--block-size", "3000");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--block-size"), r.err());
        r = build("-o", img.toString(), "--level", "40");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--level 40"), r.err());
        r = build("-o", img.toString(), "--pcluster", "64K");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--pcluster does not apply to --type squashfs"), r.err());
        r = build("-o", img.toString(), "--compression", "gzip", "--xz-bcj", "x86");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--xz-bcj applies to --compression xz only"), r.err());
        r = build("-o", img.toString(), "--compression", "xz", "--xz-bcj", "arm");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--xz-bcj arm is not one of auto, x86, none"), r.err());
        r = Cli.run("image", "build", "--type", "ext4", "--closure", fx.closureFile().toString(), "-o", img.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("ext4"), r.err());
        assertNoOutput(img);
        Path junk = tmp.resolve("junk");
        Files.writeString(junk, "not an image at all");
        r = Cli.run("image", "ls", junk.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("not a SquashFS or EROFS image"), r.err());
    }

    /**
     * --reuse through the CLI: after a store path changed (new narHash), the build from the earlier image is
     * the fresh build byte for byte and verifies against the new closure; a missing or junk OLD, and --reuse
     * with EROFS, are one line, exit 2, no output.
     */
    @Test
    void reuseGivesTheFreshImage() throws Exception {
        Path old = tmp.resolve("old.img");
        assertEquals(0, build("-o", old.toString()).exitCode());
        String pkg4 = fx.graph().paths().stream().map(pi -> pi.path().baseName()).filter(n -> n.endsWith("-pkg4"))
                .findFirst().orElseThrow();
        Path tool = fx.store().resolve(pkg4).resolve("bin/tool4");
        Files.writeString(tool, "changed\n");
        StoreFixture fx2 = StoreFixture.rehash(fx, tmp.resolve("closure2"));
        String[] base = {"image", "build", "--type", "squashfs", "--closure", fx2.closureFile().toString(),
            "--store-dir", fx2.storeDir(), "--threads", "2", "--compression", "zstd"};
        Path fresh = tmp.resolve("fresh.img");
        Path inc = tmp.resolve("inc.img");
        assertEquals(0, Cli.run(Stream.concat(Stream.of(base), Stream.of("-o", fresh.toString())).toArray(String[]::new)).exitCode());
        Cli.Result r = Cli.run(Stream.concat(Stream.of(base), Stream.of("-o", inc.toString(), "--reuse", old.toString()))
                .toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("", r.err(), "a clean reuse warns of nothing");
        // the same build from an image without a reuse table warns once, and still gives the fresh image
        byte[] cut = Files.readAllBytes(old);
        Path noTable = tmp.resolve("no-table.img");
        Files.write(noTable, java.util.Arrays.copyOf(cut, cut.length - 4096));
        Path inc2 = tmp.resolve("inc2.img");
        Cli.Result w = Cli.run(Stream.concat(Stream.of(base), Stream.of("-o", inc2.toString(), "--reuse",
                noTable.toString())).toArray(String[]::new));
        assertEquals(0, w.exitCode(), w.err());
        assertTrue(w.err().contains("warning: " + noTable) && w.err().contains("nothing reused"), w.err());
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(fresh), Files.readAllBytes(inc2)), "incremental != fresh");
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(fresh), Files.readAllBytes(inc)), "incremental != fresh");
        Cli.Result v = Cli.run("image", "verify", inc.toString(), "--closure", fx2.closureFile().toString(),
                "--store-dir", fx2.storeDir());
        assertEquals(0, v.exitCode(), v.err() + v.out());

        Path out = tmp.resolve("bad.img");
        Path junk = tmp.resolve("junk.img");
        Files.writeString(junk, "not an image at all");
        for (String[] extra : java.util.List.of(new String[] {"--reuse", tmp.resolve("missing.img").toString()},
                new String[] {"--reuse", junk.toString()})) {
            Cli.Result b = Cli.run(Stream.concat(Stream.of(base), Stream.concat(Stream.of("-o", out.toString()),
                    Stream.of(extra))).toArray(String[]::new));
            assertEquals(2, b.exitCode(), b.err());
            assertEquals(1, b.err().strip().lines().count(), b.err());
            assertTrue(b.err().contains(extra[1]), b.err());
            assertNoOutput(out);
        }
        Cli.Result e = Cli.run("image", "build", "--type", "erofs", "--closure", fx2.closureFile().toString(),
                "--store-dir", fx2.storeDir(), "-o", out.toString(), "--reuse", old.toString());
        assertEquals(2, e.exitCode(), e.err());
        assertTrue(e.err().contains("--reuse image is not an EROFS image"), e.err());
        assertNoOutput(out);
    }

    public static void assertNoOutput(Path img) throws Exception {
        assertFalse(Files.exists(img), "output left behind");
        try (Stream<Path> s = Files.list(img.getParent())) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".part")), "temporary file left behind");
        }
    }
}
