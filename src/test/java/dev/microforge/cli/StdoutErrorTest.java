package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.microforge.image.StoreFixture;
import dev.microforge.testkit.Cli;
import dev.microforge.testkit.JarCli;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed write on standard output is exit 1 with one line, for every command that prints a result. */
class StdoutErrorTest {
    @TempDir
    Path tmp;

    @Test
    void writingIntoAFullDiskIsExit1WithOneLine() throws Exception {
        Path closure = Path.of("tests/example/closure.json").toAbsolutePath();
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\": \"vm\", \"kernel\": \"/k\", \"storeOnDisk\": false}");
        StoreFixture fx = StoreFixture.create(tmp.resolve("fx"), 1);
        Path img = tmp.resolve("img");
        Cli.Result b = Cli.run("image", "build", "--type", "erofs", "--closure", fx.closureFile().toString(),
                "--store-dir", fx.storeDir(), "-o", img.toString());
        assertEquals(0, b.exitCode(), b.err());
        for (List<String> args : List.of(
                List.of("nix", "emit", "--spec", spec.toString()),
                List.of("image", "ls", img.toString()),
                List.of("closure", "show", "--closure", closure.toString()),
                List.of("audit", "size", "--closure", closure.toString()),
                List.of("nar", "hash", closure.toString()),
                List.of("--help"))) {
            // the command works when its output can be written
            JarCli.Result ok = JarCli.run(args, null, 256, 120);
            assertEquals(0, ok.exitCode(), args + ": " + ok.err());
            assertFalse(ok.out().isEmpty(), args.toString());
            JarCli.Result full = JarCli.run(args, new File("/dev/full"), 256, 120);
            assertEquals(1, full.exitCode(), args + ": " + full.err());
            assertEquals("microforge: error writing standard output: No space left on device\n", full.err(), args.toString());
        }
    }

    @Test
    void anEarlierErrorKeepsItsCodeAndItsOnlyLine() {
        PrintWriter broken = new PrintWriter(new Writer() {
            @Override
            public void write(char[] c, int off, int len) throws IOException {
                throw new IOException("Broken pipe");
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        });
        broken.print("x");
        StringWriter err = new StringWriter();
        assertEquals(2, Main.checkStdout(2, true, broken, new IOException("Broken pipe"), new PrintWriter(err, true)));
        assertEquals(1, Main.checkStdout(1, true, broken, new IOException("Broken pipe"), new PrintWriter(err, true)));
        assertEquals("", err.toString());
        assertEquals(1, Main.checkStdout(3, false, broken, new IOException("Broken pipe"), new PrintWriter(err, true)));
        assertEquals("microforge: error writing standard output: Broken pipe\n", err.toString());
    }

    /** A command that returns 1 on its own (preflight with findings) without an error line still reports stdout. */
    @Test
    void aFailingRunWithoutItsOwnLineStillReportsStdout() throws Exception {
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\": \"vm\", \"kernel\": \"/k\", \"storeOnDisk\": false}");
        Path root = Files.createDirectories(tmp.resolve("root"));
        List<String> args = List.of("preflight", "--spec", spec.toString(), "--root", root.toString(), "--format", "json");
        JarCli.Result ok = JarCli.run(args, null, 256, 120);
        assertEquals(1, ok.exitCode(), ok.err());
        assertFalse(ok.out().isEmpty());
        JarCli.Result full = JarCli.run(args, new File("/dev/full"), 256, 120);
        assertEquals(1, full.exitCode(), full.err());
        assertEquals("microforge: error writing standard output: No space left on device\n", full.err());
    }
}
