package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two VMs of the same name (so the same relative virtiofsd socket name) started from different directories at the
 * same time, with Debian's real C virtiofsd: it names its pid file after the socket path, so microvm-run gives it the
 * absolute path; with the relative one the second virtiofsd failed ("Cannot lock pid file") and its VM did not start.
 * The hypervisor is a stand-in that waits until the test lets it go.
 */
@Tag("oracle")
class VirtiofsdSocketTest {
    @TempDir
    Path tmp;

    @Test
    void sameSocketNameInTwoDirectoriesRunsTwice() throws Exception {
        Path vfsd = Tools.require("/usr/lib/qemu/virtiofsd");
        Path bin = Files.createDirectories(tmp.resolve("fakebin"));
        Path fake = bin.resolve("qemu-system-x86_64");
        Files.writeString(fake, "#!/bin/sh\ntouch \"$PWD/started\"\nwhile [ ! -e \"$RELEASE\" ]; do sleep 0.1; done\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path release = tmp.resolve("release");
        Process[] vms = new Process[2];
        try {
            for (int i = 0; i < 2; i++) {
                Path work = Files.createDirectories(tmp.resolve("vm" + i));
                Files.createDirectories(work.resolve("shared"));
                Files.writeString(work.resolve("vm.json"), "{\"name\":\"same\",\"kernel\":\"/k\",\"storeOnDisk\":false,"
                        + "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"data\",\"source\":\"shared\",\"mountPoint\":\"/data\"}],"
                        + "\"virtiofsd\":{\"path\":\"" + vfsd + "\"}}");
                Cli.Result r = Cli.run("runner", "--spec", work.resolve("vm.json").toString(), "--accel", "tcg",
                        "--microforge", "none", "-o", work.resolve("runner").toString());
                assertEquals(0, r.exitCode(), r.err());
                ProcessBuilder pb = new ProcessBuilder(work.resolve("runner/bin/microvm-run").toString()).directory(work.toFile())
                        .redirectErrorStream(true).redirectOutput(work.resolve("log").toFile());
                pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
                pb.environment().put("RELEASE", release.toString());
                pb.environment().put("MICROVM_NO_PREFLIGHT", "1");
                vms[i] = pb.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!Files.exists(work.resolve("started")) && vms[i].isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertTrue(Files.exists(work.resolve("started")), "VM " + i + " did not start:\n" + Files.readString(work.resolve("log")));
            }
        } finally {
            Files.writeString(release, "");
            for (Process p : vms) {
                if (p != null && !p.waitFor(30, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
        }
        for (Process p : vms) {
            assertEquals(0, p.exitValue());
            assertTrue(p.descendants().noneMatch(ProcessHandle::isAlive), "virtiofsd stops with its VM");
        }
    }
}
