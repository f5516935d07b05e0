package dev.microforge.image.erofs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.StoreFixture;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our reader on mkfs.erofs 1.5 images of every variant the bench and microvm.nix use: compact (2B/4B) and full
 * lcluster indexes, lz4 and lz4hc, ztailpacking, big pclusters. {@code image verify} (NAR hashes of every store
 * path computed from the image) must pass, and the summary must name the features the variant exercises.
 */
@Tag("oracle")
class ErofsPeerImageTest {
    @TempDir
    static Path tmp;

    static StoreFixture fx;

    @BeforeAll
    static void fixture() throws Exception {
        StoreFixture raw = StoreFixture.create(tmp.resolve("fx"), 4);
        // mkfs.erofs 1.5 cannot write a 255-byte name ("Could not format the device")
        try (var s = Files.walk(raw.store())) {
            for (Path p : s.filter(p -> p.getFileName().toString().length() == 255).toList()) {
                Files.delete(p);
            }
        }
        fx = StoreFixture.rehash(raw, tmp.resolve("closure"));
    }

    @ParameterizedTest(name = "mkfs.erofs {0}")
    @CsvSource(delimiter = '|', value = {
        "-zlz4|lz4_0padding",
        "-zlz4hc|lz4_0padding",
        "-zlz4hc -Elegacy-compress|lz4_0padding",
        "-zlz4 -Eztailpacking|ztailpacking",
        "-zlz4hc -Eztailpacking -Efragments|ztailpacking",
        "-zlz4hc -C16384|big_pcluster",
        "-zlz4hc -C65536 -Eztailpacking|big_pcluster ztailpacking",
        "-zlz4hc -C16384 -Elegacy-compress|big_pcluster",
    })
    void ourReaderVerifiesPeerImages(String flags, String features) throws Exception {
        Path img = tmp.resolve("peer" + flags.replaceAll("[^A-Za-z0-9]", "_") + ".erofs");
        List<String> cmd = new ArrayList<>(List.of(Tools.require("mkfs.erofs").toString()));
        cmd.addAll(List.of(flags.split(" ")));
        cmd.addAll(List.of("-T0", "--all-root", "--quiet", img.toString(), fx.store().toString()));
        Exec.ok(cmd.toArray(String[]::new));
        Cli.Result v = Cli.run("image", "verify", img.toString(), "--closure", fx.closureFile().toString(),
                "--store-dir", fx.storeDir(), "--threads", "2");
        assertEquals(0, v.exitCode(), v.err() + v.out());
        assertTrue(v.out().contains("ok: " + fx.graph().size() + " store paths"), v.out());
        Cli.Result sum = Cli.run("image", "ls", "--summary", img.toString());
        assertEquals(0, sum.exitCode(), sum.err());
        for (String f : features.split(" ")) {
            assertTrue(sum.out().matches("(?s).*features:[^\n]*\\b" + f + "\\b.*"), f + " in " + sum.out());
        }
    }
}
