package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageCommandTestSupport;
import dev.microforge.image.ImageOptions;
import dev.microforge.image.StoreFixture;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.SmallDisk;
import dev.microforge.testkit.TestTrees;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code image build --type erofs}, ls, extract, verify through the CLI; bad input and bad options. */
class ErofsCommandTest {
    @TempDir
    Path tmp;

    private Cli.Result build(StoreFixture fx, String... extra) {
        String[] base = {"image", "build", "--type", "erofs", "--closure", fx.closureFile().toString(),
            "--store-dir", fx.storeDir(), "--threads", "2"};
        return Cli.run(Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new));
    }

    @Test
    void buildLsExtractVerifyEveryCompression() throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 3);
        for (String c : new String[] {"none", "lz4", "lz4hc", "lz4hc --tail-packing --fragments", "lz4 --pcluster 64K --tail-packing",
            "zstd --level 3 --pcluster 128K --tail-packing --fragments", "lzma --level 1", "deflate --level 1 --pcluster 16K --tail-packing"}) {
            Path img = tmp.resolve("store-" + c.replace(' ', '_') + ".erofs");
            List<String> args = new java.util.ArrayList<>(List.of("-o", img.toString(), "--compression"));
            args.addAll(List.of(c.split(" ")));
            args.addAll(List.of("--registration", "registration"));
            Cli.Result r = build(fx, Stream.concat(args.stream(), Stream.of(
                    "--uuid", "11111111-2222-4333-8444-555555555555", "--label", "my-store")).toArray(String[]::new));
            assertEquals(0, r.exitCode(), r.err());
            Cli.Result ls = Cli.run("image", "ls", img.toString());
            assertEquals(0, ls.exitCode(), ls.err());
            assertTrue(ls.out().startsWith("dr-xr-xr-x 0/0 0 /\n"), ls.out());
            assertTrue(ls.out().contains("/registration"), ls.out());
            Cli.Result sum = Cli.run("image", "ls", "--summary", img.toString());
            assertTrue(sum.out().contains("my-store") && sum.out().contains("11111111-2222-4333-8444-555555555555"), sum.out());
            Path out = tmp.resolve("out-" + c.replace(' ', '_'));
            Cli.Result ex = Cli.run("image", "extract", img.toString(), out.toString());
            assertEquals(0, ex.exitCode(), ex.err());
            assertEquals(Files.readString(fx.closureFile()), Files.readString(out.resolve("registration")));
            Cli.Result v = Cli.run("image", "verify", img.toString(), "--closure", fx.closureFile().toString(),
                    "--store-dir", fx.storeDir(), "--registration", "registration");
            assertEquals(0, v.exitCode(), v.err() + v.out());
            assertTrue(v.out().contains("ok: " + fx.graph().size() + " store paths"), v.out());
        }
    }

    @Test
    void missingStorePathIsOneLineAndLeavesNoOutput() throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 2);
        String victim = fx.graph().paths().get(1).path().baseName();
        Files.delete(fx.store().resolve(victim));
        Path img = tmp.resolve("store.erofs");
        Cli.Result r = build(fx, "-o", img.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains(victim) && r.err().contains("missing on disk"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        ImageCommandTestSupport.assertNoOutput(img);
    }

    @Test
    void badOptions() throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 1);
        Path img = tmp.resolve("store.erofs");
        String[][] cases = {
            {"--compression", "brotli"}, {"brotli"},
            {"--compression", "zstd", "--level", "23"}, {"--level 23 is out of range for zstd (1 to 22)"},
            {"--compression", "lzma", "--level", "10"}, {"--level 10 is out of range for lzma (0 to 9)"},
            {"--compression", "deflate", "--level", "0"}, {"--level 0 is out of range for deflate (1 to 9)"},
            {"--pcluster", "6K"}, {"--pcluster 6144"},
            {"--pcluster", "2M"}, {"--pcluster 2097152"},
            {"--compression", "none", "--pcluster", "64K"}, {"--pcluster applies to compressed"},
            {"--compression", "lz4", "--level", "9"}, {"--level"},
            {"--level", "13"}, {"--level 13"},
            {"--uuid", "not-a-uuid"}, {"--uuid not-a-uuid"},
            {"--label", "a-label-longer-than-16"}, {"--label"},
            {"--compression", "none", "--tail-packing"}, {"--tail-packing applies to compressed"},
            {"--compression", "none", "--fragments"}, {"--fragments applies to compressed"},
            {"--block-size", "8K"}, {"--block-size"},
            {"--xz-bcj", "x86"}, {"--xz-bcj does not apply to --type erofs"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = Stream.concat(Stream.of("-o", img.toString()), Stream.of(cases[i])).toArray(String[]::new);
            Cli.Result r = build(fx, args);
            assertEquals(2, r.exitCode(), String.join(" ", cases[i]) + ": " + r.err());
            assertTrue(r.err().contains(cases[i + 1][0]), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            ImageCommandTestSupport.assertNoOutput(img);
        }
    }

    // ---- inputs that change under the writer's feet ----

    interface IoAction {
        void run() throws IOException, InterruptedException;
    }

    private UserError buildWithMutation(Path store, StorePath sp, Path out, String compression, IoAction mutation) {
        ClosureGraph g = ClosureGraph.of(store.toString(), "test", List.of(new PathInfo(sp, List.of())));
        Events hook = new Events() {
            @Override
            public void finish(String task) {
                if (task.startsWith("scanning")) {
                    try {
                        mutation.run();
                    } catch (IOException | InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        };
        return assertThrows(UserError.class, () -> ImageBuild.build(g, store, "erofs",
                variant(compression), Map.of(), out, hook));
    }

    /** "lz4hc", or "lz4hc+frag" for microvm.nix's default (ztailpacking and fragments). */
    private static ImageOptions variant(String v) {
        ImageOptions o = ImageOptions.defaults().withThreads(2).withCompression(v.replace("+frag", ""));
        return v.endsWith("+frag") ? o.withTailPacking(true).withFragments(true) : o;
    }

    private StorePath storeWith(Path store, byte[] content) throws IOException {
        Files.createDirectories(store);
        StorePath sp = new StorePath(store.toString(), "3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d", "victim");
        Path dir = Files.createDirectories(store.resolve(sp.baseName()));
        Files.write(dir.resolve("file"), content);
        Files.write(dir.resolve("other"), TestTrees.text(9, 5000));
        return sp;
    }

    @Test
    void filesThatVanishChangeOrTurnIntoFifos() throws Exception {
        for (String c : new String[] {"none", "lz4hc", "lz4hc+frag"}) {
            Path store = tmp.resolve("store-" + c);
            StorePath sp = storeWith(store, TestTrees.text(1, 300_000));
            Path f = store.resolve(sp.baseName()).resolve("file");
            Path out = tmp.resolve("out-" + c + ".erofs");
            UserError grew = buildWithMutation(store, sp, out, c, () -> Files.write(f, new byte[] {1, 2, 3}, StandardOpenOption.APPEND));
            assertTrue(grew.getMessage().contains(f.toString()) && grew.getMessage().contains("changed size"), grew.getMessage());
            ImageCommandTestSupport.assertNoOutput(out);
            UserError shrank = buildWithMutation(store, sp, out, c, () -> Files.write(f, new byte[10]));
            assertTrue(shrank.getMessage().contains(f.toString()) && shrank.getMessage().contains("changed size"), shrank.getMessage());
            ImageCommandTestSupport.assertNoOutput(out);
            UserError fifo = buildWithMutation(store, sp, out, c, () -> {
                Files.delete(f);
                Exec.ok("mkfifo", f.toString());
            });
            assertTrue(fifo.getMessage().contains(f.toString()) && fifo.getMessage().contains("no longer a regular file"), fifo.getMessage());
            ImageCommandTestSupport.assertNoOutput(out);
            Files.delete(f);
            Files.write(f, TestTrees.text(1, 300_000));
            UserError gone = buildWithMutation(store, sp, out, c, () -> Files.delete(f));
            assertTrue(gone.getMessage().contains(f.toString()) && gone.getMessage().contains("vanished"), gone.getMessage());
            ImageCommandTestSupport.assertNoOutput(out);
        }
    }

    @Test
    @Tag("oracle")
    void diskFull() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(tmp.resolve("small"), "1m")) {
            Path store = tmp.resolve("store");
            StorePath sp = storeWith(store, TestTrees.random(5, 3 << 20));
            Path closure = tmp.resolve("closure");
            Files.writeString(closure, sp.path() + "\n\n0\n");
            for (String c : new String[] {"none", "lz4"}) {
                Path out = disk.path().resolve("out.erofs");
                Cli.Result r = Cli.run("image", "build", "--type", "erofs", "--compression", c, "--closure", closure.toString(),
                        "--closure-format", "export-references-graph", "--store-dir", store.toString(), "-o", out.toString());
                assertEquals(1, r.exitCode(), r.err());
                assertTrue(r.err().contains(out.toString()) && r.err().contains("No space left on device"), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                ImageCommandTestSupport.assertNoOutput(out);
            }
        }
    }
}
