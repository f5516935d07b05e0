package dev.microforge.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external process with a timeout; captures stdout and stderr. Every process gets the tests' Nix settings
 * ({@link NixEnv}, as NIX_CONFIG) unless {@code env} sets NIX_CONFIG itself: whatever runs Nix through here, directly
 * or through a script or the CLI jar, runs it the same way.
 */
public final class Exec {
    public record Result(int exitCode, byte[] stdout, String stderr) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        public Result check(List<String> cmd) {
            if (exitCode != 0) {
                throw new AssertionError("command failed (" + exitCode + "): " + String.join(" ", cmd) + "\n" + stderr + "\n" + out());
            }
            return this;
        }
    }

    private Exec() {}

    public static Result run(List<String> cmd, Path cwd, Map<String, String> env, long timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        pb.environment().putAll(NixEnv.environment());
        if (env != null) {
            pb.environment().putAll(env);
        }
        Path out = Files.createTempFile("exec", ".out");
        Path err = Files.createTempFile("exec", ".err");
        try {
            pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError("timed out after " + timeoutSeconds + "s: " + String.join(" ", cmd) + "\n"
                        + Files.readString(err, StandardCharsets.ISO_8859_1));
            }
            return new Result(p.exitValue(), Files.readAllBytes(out), Files.readString(err, StandardCharsets.ISO_8859_1));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs and requires exit 0. */
    public static Result ok(String... cmd) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of(cmd));
        return run(c, null, null, 600).check(c);
    }
}
