package dev.microforge.nix;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Runs microforge inside real Nix builds: a launcher script outside the store (the build users must be able to
 * read it, so it lives under target/, not in a 0700 temp dir), running target/microforge.jar when that jar is
 * at least as new as the compiled classes, otherwise a copy of the test classpath's classes and jars.
 */
final class NixTestSupport {
    record Launcher(Path command, String version) {}

    private static Launcher launcher;

    private NixTestSupport() {}

    static synchronized Launcher launcher() throws Exception {
        if (launcher != null) {
            return launcher;
        }
        String given = System.getProperty("microforge.nix.launcher");
        if (given != null) {
            // development: another microforge build (must be readable by the build users)
            launcher = new Launcher(Path.of(given), System.getProperty("microforge.nix.launcherVersion", "dev"));
            return launcher;
        }
        Path root = Tools.projectRoot();
        Path target = root.resolve("target");
        Path dir = target.resolve("nix-launcher");
        Files.createDirectories(dir);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path jar = Path.of(System.getProperty("microforge.jar", target.resolve("microforge.jar").toString()));
        Path classes = target.resolve("classes");
        String exec;
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        if (Files.isRegularFile(jar) && Files.getLastModifiedTime(jar).toMillis() >= newest(classes)) {
            exec = "exec " + java + " -jar " + jar + " \"$@\"";
            try (InputStream in = Files.newInputStream(jar)) {
                md.update(in.readAllBytes());
            }
        } else {
            Path cp = dir.resolve("cp");
            deleteTree(cp);
            Path lib = Files.createDirectories(cp.resolve("lib"));
            copyTree(classes, cp.resolve("classes"));
            for (Path j : dependencyJars()) {
                Files.copy(j, lib.resolve(j.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
            exec = "exec " + java + " -cp '" + cp.resolve("classes") + ":" + lib + "/*' dev.microforge.cli.Main \"$@\"";
            try (Stream<Path> s = Files.walk(cp)) {
                for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                    md.update(cp.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
                    md.update(Files.readAllBytes(p));
                }
            }
        }
        Path script = dir.resolve("microforge");
        Files.writeString(script, "#!/bin/sh\n" + exec + "\n");
        // world-readable path down to the launcher: builds run as the nixbld users
        for (Path p = script; p != null && p.startsWith(root); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rwxr-xr-x"));
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = new Launcher(script, HexFormat.of().formatHex(md.digest()).substring(0, 16));
        return launcher;
    }

    /**
     * nix-build FILE -A attr...; retried while a builder dies of SIGKILL. Cause, found here: Nix 2.8 takes EOF on
     * the builder's log pipe as the end of the build and SIGKILLs its process group; bash >= 5.1 execs the last
     * command of a -c script, and a coreutils program closes stdout/stderr (atexit) before it exits, so on a
     * loaded machine the kill lands first and the build "failed due to signal 9". The stub's runCommand ends
     * every script with a builtin, which avoids it; the retry stays as a safety net (it only rebuilds what failed).
     */
    static Exec.Result nixBuild(Path file, List<String> attrs, List<String> extraArgs) throws Exception {
        Launcher l = launcher();
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix-build").toString(), file.toString(),
                "--option", "substituters", "", "--no-out-link", "--keep-going",
                "--argstr", "microforgeCommand", l.command().toString(),
                "--argstr", "microforgeVersion", l.version()));
        cmd.addAll(extraArgs);
        for (String a : attrs) {
            cmd.add("-A");
            cmd.add(a);
        }
        Exec.Result r = null;
        for (int attempt = 0; attempt < 8; attempt++) {
            r = Exec.run(cmd, null, null, 600);
            if (r.exitCode() == 0 || !r.stderr().contains("(Killed)")) {
                return r;
            }
        }
        return r;
    }

    private static List<String> packageArgs;

    /**
     * The arguments that let the stub nixpkgs build nix/package.nix: {@code mavenRepo}, a copy of the jars of
     * nix/deps.json taken from the local Maven repository (property microforge.mavenRepo, the pom's
     * settings.localRepository) under target/, where build users can read them, laid out like the repository;
     * {@code jdkHome}, the JDK running the tests (it must have javac and jar).
     */
    static synchronized List<String> packageArgs() throws Exception {
        if (packageArgs != null) {
            return packageArgs;
        }
        Path root = Tools.projectRoot();
        Path local = Path.of(System.getProperty("microforge.mavenRepo", System.getProperty("user.home") + "/.m2/repository"));
        Path repo = root.resolve("target/nix-maven-repo");
        deleteTree(repo);
        for (DepsLockTest.Locked l : DepsLockTest.lock(Files.readString(root.resolve("nix/deps.json")))) {
            String rel = mavenPath(l);
            Path from = local.resolve(rel);
            if (!Files.isRegularFile(from)) {
                throw new AssertionError(from + " (in nix/deps.json) is not in the local Maven repository; run mvn validate");
            }
            Path to = repo.resolve(rel);
            Files.createDirectories(to.getParent());
            Files.copy(from, to);
        }
        readableByAll(root, repo);
        Path jdk = Path.of(System.getProperty("java.home"));
        for (String tool : List.of("javac", "jar", "java")) {
            if (!Files.isExecutable(jdk.resolve("bin").resolve(tool))) {
                throw new AssertionError("the JDK of the tests (" + jdk + ") has no bin/" + tool);
            }
        }
        packageArgs = List.of("--argstr", "mavenRepo", repo.toString(), "--argstr", "jdkHome", jdk.toString());
        return packageArgs;
    }

    /** The path of a locked jar inside a Maven repository (what mirror://maven/ is followed by). */
    static String mavenPath(DepsLockTest.Locked l) {
        String name = l.artifactId() + "-" + l.version() + ".jar";
        return l.groupId().replace('.', '/') + "/" + l.artifactId() + "/" + l.version() + "/" + name;
    }

    /** rwxr-xr-x on the directories from root down to dir and inside it, rw-r--r-- on its files. */
    private static void readableByAll(Path root, Path dir) throws IOException {
        for (Path p = dir; p != null && p.startsWith(root); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }

    static List<String> lines(byte[] out) {
        return new String(out, StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }

    private static long newest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Long.MAX_VALUE;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            long max = 0;
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                max = Math.max(max, Files.getLastModifiedTime(p).toMillis());
            }
            return max;
        }
    }

    private static List<Path> dependencyJars() throws IOException {
        List<Path> jars = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (p.getFileName().toString().startsWith("surefirebooter") && p.toString().endsWith(".jar")) {
                try (JarFile jf = new JarFile(p.toFile())) {
                    String cp = jf.getManifest().getMainAttributes().getValue("Class-Path");
                    for (String u : cp.trim().split("\\s+")) {
                        Path d = Path.of(URI.create(u));
                        if (d.toString().endsWith(".jar")) {
                            jars.add(d);
                        }
                    }
                }
            } else if (e.endsWith(".jar")) {
                jars.add(p);
            }
        }
        return jars;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
