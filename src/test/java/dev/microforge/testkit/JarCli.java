package dev.microforge.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the CLI in its own JVM (the packaged jar, or the compiled classes when the jar is missing or older, see
 * {@link #launch}), for what an in-process run cannot show: the real standard output (a full disk, a closed pipe), a run
 * that hangs (killed at the deadline) and a run that runs out of memory (a bounded heap).
 */
public final class JarCli {
    /** {@code timedOut}: killed at the deadline (then {@code exitCode} is -1). */
    public record Result(int exitCode, String out, String err, boolean timedOut) {}

    private JarCli() {}

    /**
     * How to start the CLI: {@code -jar target/microforge.jar} when that jar is at least as new as every compiled
     * class (after {@code mvn package}), else {@code -cp <the test class path> dev.microforge.cli.Main} (during
     * {@code mvn test}/{@code verify}, where the test phase runs before the jar is built or rebuilt).
     */
    public static List<String> launch() throws IOException {
        Path jar = Path.of(System.getProperty("microforge.jar", Tools.projectRoot().resolve("target/microforge.jar").toString()));
        Path classes = Tools.projectRoot().resolve("target/classes");
        if (Files.isRegularFile(jar) && Files.getLastModifiedTime(jar).toMillis() >= newest(classes)) {
            return List.of("-jar", jar.toString());
        }
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of("-cp", cp, "dev.microforge.cli.Main");
    }

    /**
     * An executable {@code microforge} script that runs the CLI as {@link #launch} does (target/test-launcher/microforge),
     * for what generated scripts call by path: a runner's preflight and {@code microforge shutdown}
     * ({@code runner --microforge PATH}).
     */
    public static synchronized Path launcherScript() throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED"));
        cmd.addAll(launch());
        StringBuilder sb = new StringBuilder("#!/bin/sh\nexec");
        for (String w : cmd) {
            sb.append(" '").append(w.replace("'", "'\\''")).append('\'');
        }
        sb.append(" \"$@\"\n");
        Path dir = Files.createDirectories(Tools.projectRoot().resolve("target/test-launcher"));
        Path script = dir.resolve("microforge");
        Path tmp = Files.createTempFile(dir, "microforge", ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(tmp, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return script;
    }

    /**
     * A {@code microforge} launcher in {@code dir} that needs nothing outside {@code dir} but the JVM: the class path of
     * {@link #launch} (the jar, or the compiled classes and dependency jars) is copied into {@code dir/cp}, so that
     * another user (a runner started as nobody) can run it where the project and ~/.m2 are not readable to them.
     * The caller makes {@code dir} readable.
     */
    public static Path portableLauncher(Path dir) throws IOException {
        List<String> l = launch();
        Path cpDir = Files.createDirectories(dir.resolve("cp"));
        List<String> entries = l.get(0).equals("-jar") ? List.of(l.get(1)) : List.of(l.get(1).split(File.pathSeparator));
        StringBuilder cp = new StringBuilder();
        int i = 0;
        for (String e : entries) {
            Path src = Path.of(e);
            if (!Files.exists(src)) {
                continue;
            }
            Path dst = cpDir.resolve(i++ + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (var s = Files.walk(src)) {
                    for (Path p : (Iterable<Path>) s::iterator) {
                        Path q = dst.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(q);
                        } else {
                            Files.copy(p, q);
                        }
                    }
                }
            } else {
                Files.copy(src, dst);
            }
            cp.append(cp.length() == 0 ? "" : File.pathSeparator).append(dst);
        }
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "#!/bin/sh\nexec '" + javaBin + "' --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp '" + cp
                + "' dev.microforge.cli.Main \"$@\"\n";
        Path out = dir.resolve("microforge");
        Files.writeString(out, script, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(out, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return out;
    }

    private static long newest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Long.MAX_VALUE;
        }
        try (var s = Files.walk(dir)) {
            long max = 0;
            for (Path p : (Iterable<Path>) s::iterator) {
                max = Math.max(max, Files.getLastModifiedTime(p).toMillis());
            }
            return max;
        }
    }

    /**
     * Runs {@code microforge ARGS} with a {@code heapMiB} heap; standard output goes to {@code stdout} when given
     * (e.g. /dev/full), else is captured. Standard input is /dev/null.
     */
    public static Result run(List<String> args, File stdout, int heapMiB, long timeoutSeconds) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heapMiB + "m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss1m",
                "--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED"));
        cmd.addAll(launch());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Path out = Files.createTempFile("jarcli", ".out");
        Path err = Files.createTempFile("jarcli", ".err");
        try {
            pb.redirectOutput(stdout != null ? stdout : out.toFile());
            pb.redirectError(err.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process p = pb.start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
            }
            return new Result(done ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8), !done);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
