package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command that reads an input file refuses a FIFO, a directory and a character device with one line and
 * exit 2 before opening it (a FIFO blocked forever on open; /dev/zero as a spec ran out of memory).
 */
class InputFilesCliTest {
    @TempDir
    Path tmp;

    static List<String[]> commands(String input, Path tmp) {
        String closure = Path.of("tests/example/closure.json").toAbsolutePath().toString();
        return List.of(
                new String[] {"image", "ls", input},
                new String[] {"image", "extract", input, tmp.resolve("x").toString()},
                new String[] {"image", "verify", input, "--closure", closure},
                new String[] {"audit", "self-contained", "--closure", closure, "--image", input},
                new String[] {"runner", "--spec", input, "-o", tmp.resolve("r").toString()},
                new String[] {"preflight", "--spec", input},
                new String[] {"nix", "emit", "--spec", input},
                new String[] {"closure", "show", "--closure", input},
                new String[] {"audit", "size", "--closure", input});
    }

    private void refused(String input, String what) {
        for (String[] args : commands(input, tmp)) {
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Cli.run(args), String.join(" ", args));
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            if (!(args[1].equals("show") || args[1].equals("size")) || !what.equals("a directory")) {
                String option = args[1].equals("self-contained") ? "--image " : "";
                assertEquals("microforge: " + option + input + ": not a regular file (" + what + ")\n", r.err(), String.join(" ", args));
            }
        }
    }

    @Test
    void fifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = tmp.resolve("fifo");
        Exec.ok("mkfifo", fifo.toString());
        refused(fifo.toString(), "a FIFO");
    }

    @Test
    void characterDeviceIsRefused() {
        refused("/dev/zero", "a character device");
    }

    @Test
    void directoryIsRefused() throws Exception {
        // (a directory is a closureInfo for --closure: refused there with its own message, still exit 2)
        refused(Files.createDirectories(tmp.resolve("dir")).toString(), "a directory");
    }

    @Test
    void oversizedSpecIsRefusedWithoutReadingIt() throws Exception {
        Path big = tmp.resolve("big.json");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: more than an int array can hold
        }
        for (String[] args : List.of(new String[] {"nix", "emit", "--spec", big.toString()},
                new String[] {"preflight", "--spec", big.toString()})) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.exitCode(), r.err());
            assertEquals("microforge: " + big + ": too large for a VM spec (more than 16777216 bytes)\n", r.err());
        }
    }
}
