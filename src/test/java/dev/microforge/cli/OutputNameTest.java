package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.image.StoreFixture;
import dev.microforge.testkit.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An output file named with a trailing '/' names a directory: refused, one line, exit 2, nothing written. */
class OutputNameTest {
    @TempDir
    Path tmp;

    @Test
    void aTrailingSlashOnAnOutputFileIsRefused() throws Exception {
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 1);
        Path spec = Files.writeString(tmp.resolve("vm.json"), "{\"name\": \"vm\", \"kernel\": \"/k\", \"storeOnDisk\": false}");
        String closure = Path.of("tests/example/closure.json").toAbsolutePath().toString();
        Path existing = Files.writeString(tmp.resolve("existing"), "keep");
        for (String target : List.of(tmp.resolve("newfile.img") + "/", existing + "/")) {
            for (List<String> cmd : List.of(
                    List.of("image", "build", "--type", "erofs", "--closure", fx.closureFile().toString(), "--store-dir", fx.storeDir()),
                    List.of("nix", "emit", "--spec", spec.toString()),
                    List.of("audit", "size", "--closure", closure))) {
                List<String> args = new ArrayList<>(cmd);
                args.addAll(List.of("-o", target));
                Cli.Result r = Cli.run(args.toArray(String[]::new));
                assertEquals(2, r.exitCode(), args + ": " + r.err());
                assertTrue(r.err().contains("names a directory (trailing '/')"), r.err());
                assertEquals(1, r.err().split("\n", -1).length - 1, r.err());
                assertFalse(Files.exists(tmp.resolve("newfile.img")), args.toString());
                assertEquals("keep", Files.readString(existing), args.toString());
            }
        }
        // a directory output takes a trailing slash
        Cli.Result runner = Cli.run("runner", "--spec", spec.toString(), "--microforge", "none", "-o", tmp.resolve("run") + "/");
        assertEquals(0, runner.exitCode(), runner.err());
        assertTrue(Files.isDirectory(tmp.resolve("run")));
    }
}
