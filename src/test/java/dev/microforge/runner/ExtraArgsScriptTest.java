package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * microvm.nix's extraArgsScript and preStart run by a generated microvm-run: preStart first (in microvm-run's shell),
 * then the script, whose output line's words end the hypervisor's argv (a stand-in qemu records it). A failing script
 * stops microvm-run before the hypervisor starts.
 */
@Tag("oracle")
class ExtraArgsScriptTest {
    @TempDir
    Path tmp;

    @Test
    void scriptOutputIsAppendedAfterPreStart() throws Exception {
        Tools.require("bash");
        Path bin = Files.createDirectories(tmp.resolve("fakebin"));
        Path fake = bin.resolve("qemu-system-x86_64");
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGV_OUT\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path script = tmp.resolve("args script.sh");
        Files.writeString(script, "#!/bin/sh\n[ -e \"$PWD/pre-started\" ] || exit 7\necho '-smbios  type=11,value=from-script *'\necho ignored\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path spec = tmp.resolve("vm.json");
        Files.writeString(spec, "{\"name\":\"x\",\"kernel\":\"/k\",\"storeOnDisk\":false,\"preStart\":\"touch pre-started\","
                + "\"extraArgsScript\":\"" + script + "\",\"qemu\":{\"extraArgs\":[\"-fixed\"]}}");
        Cli.Result r = Cli.run("runner", "--spec", spec.toString(), "--accel", "tcg", "--microforge", "none", "-o", tmp.resolve("runner").toString());
        assertEquals(0, r.exitCode(), r.err());
        List<String> argv = run(bin);
        assertEquals(List.of("-fixed", "-smbios", "type=11,value=from-script", "*"), argv.subList(argv.size() - 4, argv.size()),
                "the script's words last, unglobbed: " + argv);

        Files.writeString(script, "#!/bin/sh\nexit 3\n");
        ProcessBuilder pb = builder(bin);
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        assertTrue(Files.readString(tmp.resolve("log")).contains("microvm-run: extraArgsScript failed"));
    }

    ProcessBuilder builder(Path bin) {
        ProcessBuilder pb = new ProcessBuilder(tmp.resolve("runner/bin/microvm-run").toString()).directory(tmp.toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("log").toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("ARGV_OUT", tmp.resolve("argv").toString());
        pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
        return pb;
    }

    List<String> run(Path bin) throws Exception {
        Process p = builder(bin).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log")));
        String all = Files.readString(tmp.resolve("argv"), StandardCharsets.UTF_8);
        return Arrays.asList(all.substring(0, all.length() - 1).split("\0", -1));
    }
}
