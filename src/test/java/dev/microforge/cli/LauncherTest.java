package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script (src/main/sh/microforge): which JVM options it passes for which command, that it still runs
 * when the JIT profile file is missing or switched off, and (with the real JVM) that the profile changes no output
 * byte and puts nothing on stdout.
 */
class LauncherTest {
    static final Path SH = Tools.projectRoot().resolve("src/main/sh");
    static final String PROFILE_FLAG = "-XX:CompilerDirectivesFile=";

    @TempDir
    Path tmp;
    Path dir;

    @BeforeEach
    void install() throws Exception {
        dir = Files.createDirectories(tmp.resolve("install dir with spaces"));
        Files.copy(SH.resolve("microforge"), dir.resolve("microforge"));
        Files.setPosixFilePermissions(dir.resolve("microforge"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.copy(SH.resolve("hashing.jit.json"), dir.resolve("hashing.jit.json"));
        Files.copy(SH.resolve("squashfs-lz4.jit.json"), dir.resolve("squashfs-lz4.jit.json"));
        Files.copy(SH.resolve("erofs-lz4.jit.json"), dir.resolve("erofs-lz4.jit.json"));
        Files.writeString(dir.resolve("microforge.jar"), "");
    }

    /** Runs the launcher with a fake java that prints its arguments, one per line. */
    private List<String> javaArgs(Map<String, String> env, String... args) throws Exception {
        Path fake = tmp.resolve("fake-java");
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Map<String, String> e = new HashMap<>(env);
        e.put("JAVA", fake.toString());
        e.putIfAbsent("MICROFORGE_JAVA_OPTS", "");
        e.putIfAbsent("MICROFORGE_JIT", "");
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", dir.resolve("microforge").toString()));
        cmd.addAll(List.of(args));
        Exec.Result r = Exec.run(cmd, tmp, e, 30).check(cmd);
        return r.out().lines().toList();
    }

    private List<String> javaArgs(String... args) throws Exception {
        return javaArgs(Map.of(), args);
    }

    private static boolean profiled(List<String> javaArgs) {
        return javaArgs.stream().anyMatch(a -> a.startsWith(PROFILE_FLAG));
    }

    @Test
    void hashingCommandsGetTheJitProfileAndOthersDoNot() throws Exception {
        List<String> a = javaArgs("nar", "hash", "/some path");
        assertTrue(a.contains(PROFILE_FLAG + dir.resolve("hashing.jit.json")), a.toString());
        assertTrue(a.contains("-XX:+UnlockDiagnosticVMOptions") && a.contains("-XX:-DisplayVMOutput"), a.toString());
        assertEquals(List.of("-jar", dir.resolve("microforge.jar").toString(), "nar", "hash", "/some path"),
                a.subList(a.size() - 5, a.size()));
        assertTrue(profiled(javaArgs("--stacktrace", "closure", "scan", "--closure", "c.json")));
        assertTrue(profiled(javaArgs("closure", "--stacktrace", "scan", "--closure", "c.json")));
        assertFalse(profiled(javaArgs("closure", "show", "--closure", "scan")));
        assertFalse(profiled(javaArgs("image", "build", "nar")));
        assertFalse(profiled(javaArgs("--version")));
        assertFalse(profiled(javaArgs()));
    }

    @Test
    void squashfsLz4AndUncompressedBuildsRunOnC1AndLz4HcGetsItsProfile() throws Exception {
        String lz4 = PROFILE_FLAG + dir.resolve("squashfs-lz4.jit.json");
        String c1 = "-XX:TieredStopAtLevel=1";
        // lz4 level 1 (liblz4 by JNI) and no compression: C1 alone and the serial collector
        for (List<String> a : List.of(javaArgs("image", "build", "--type", "squashfs", "--closure", "c", "--compression", "lz4", "-o", "x"),
                javaArgs("image", "build", "--compression=lz4", "--level=1", "--type=squashfs"),
                javaArgs("image", "build", "--compression=none", "-o", "x", "--type=squashfs"),
                javaArgs("--stacktrace", "image", "build", "--level", "1", "--compression", "lz4", "--type", "squashfs"))) {
            assertTrue(a.contains(c1) && a.contains("-XX:+UseSerialGC") && !profiled(a), a.toString());
            assertTrue(a.indexOf(c1) < a.indexOf("-jar"), a.toString());
        }
        // LZ4 HC (levels 2 to 12) is Java code: C2 for it by the profile
        for (List<String> a : List.of(javaArgs("--stacktrace", "image", "build", "--level", "9", "--compression", "lz4", "--type", "squashfs"),
                javaArgs("image", "build", "--type", "squashfs", "--compression", "lz4", "--level=12", "-o", "x"))) {
            assertTrue(a.contains(lz4) && a.contains("-XX:+UnlockDiagnosticVMOptions") && a.contains("-XX:-DisplayVMOutput"), a.toString());
            assertTrue(a.contains("-XX:+UseSerialGC") && !a.contains(c1), a.toString());
        }
        assertFalse(javaArgs("image", "build", "--type", "squashfs", "--compression", "xz", "-o", "x").contains("-XX:+UseSerialGC"));
        assertFalse(javaArgs("image", "build", "--type", "squashfs", "--compression", "xz", "-o", "x").contains(c1));
        // one large graph of big arrays: the serial collector (a million paths fit in 256 MiB, MillionPathsTest)
        assertTrue(javaArgs("closure", "show", "--closure", "c").contains("-XX:+UseSerialGC"));
        assertTrue(javaArgs("audit", "size", "--closure", "c").contains("-XX:+UseSerialGC"));
        assertFalse(javaArgs("closure", "scan", "--closure", "c").contains("-XX:+UseSerialGC"));
        List<String> off = javaArgs(Map.of("MICROFORGE_JIT", "default"), "image", "build", "--type", "squashfs", "--compression", "lz4");
        assertFalse(off.contains("-XX:+UseSerialGC") || off.contains(c1) || profiled(off), off.toString());
        assertFalse(profiled(javaArgs("image", "build", "--type", "squashfs", "--compression", "xz", "-o", "x")));
        assertFalse(javaArgs("image", "build", "--type", "squashfs", "-o", "lz4").contains(c1));
        assertFalse(javaArgs("image", "ls", "--type", "squashfs", "--compression", "lz4").contains(c1));
    }

    @Test
    void erofsLz4Lz4hcAndUncompressedBuildsGetTheirProfile() throws Exception {
        String erofs = PROFILE_FLAG + dir.resolve("erofs-lz4.jit.json");
        for (String comp : new String[] {"lz4", "lz4hc", "none"}) {
            List<String> a = javaArgs("image", "build", "--type", "erofs", "--closure", "c", "--compression", comp, "-o", "x");
            assertTrue(a.contains(erofs) && a.contains("-XX:+UseSerialGC") && a.contains("-XX:-DisplayVMOutput"), comp + ": " + a);
        }
        // the default compression (lz4hc)
        assertTrue(javaArgs("image", "build", "--type=erofs", "--closure", "c", "-o", "x").contains(erofs));
        assertFalse(profiled(javaArgs("image", "build", "--type", "erofs", "--compression", "zstd", "-o", "x")));
        // zstd, lzma and deflate keep the JIT defaults but get the serial collector (peak RSS)
        for (String comp : new String[] {"zstd", "lzma", "deflate"}) {
            assertTrue(javaArgs("image", "build", "--type", "erofs", "--compression", comp, "-o", "x").contains("-XX:+UseSerialGC"), comp);
        }
        assertFalse(profiled(javaArgs("image", "verify", "--type", "erofs", "--compression", "lz4")));
        assertFalse(profiled(javaArgs(Map.of("MICROFORGE_JIT", "default"), "image", "build", "--type", "erofs", "--compression", "lz4")));
    }

    @Test
    void auditSizeRunsOnC1AloneUnlessTurnedOff() throws Exception {
        String c1 = "-XX:TieredStopAtLevel=1";
        List<String> a = javaArgs("audit", "size", "--closure", "c", "--top", "20");
        assertTrue(a.contains(c1) && !profiled(a), a.toString());
        assertTrue(a.indexOf(c1) < a.indexOf("-jar"), a.toString());
        assertTrue(javaArgs("--stacktrace", "audit", "size", "--closure", "c").contains(c1));
        assertFalse(javaArgs("audit", "self-contained", "--closure", "c").contains(c1));
        assertFalse(javaArgs("image", "build", "audit", "size").contains(c1));
        assertFalse(javaArgs(Map.of("MICROFORGE_JIT", "default"), "audit", "size", "--closure", "c").contains(c1));
        // the user's options come after it, so a user's -XX:TieredStopAtLevel wins
        List<String> u = javaArgs(Map.of("MICROFORGE_JAVA_OPTS", "-XX:TieredStopAtLevel=4"), "audit", "size", "--closure", "c");
        assertTrue(u.indexOf("-XX:TieredStopAtLevel=4") > u.indexOf(c1), u.toString());
    }

    @Test
    void missingOrDisabledProfileFallsBackToTheJvmDefaults() throws Exception {
        List<String> off = javaArgs(Map.of("MICROFORGE_JIT", "default"), "nar", "hash", "p");
        assertEquals(List.of("--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED", "-jar", dir.resolve("microforge.jar").toString(),
                "nar", "hash", "p"), off);
        Files.delete(dir.resolve("hashing.jit.json"));
        assertEquals(off, javaArgs("nar", "hash", "p"));
    }

    @Test
    void userJavaOptionsComeLastBeforeTheJar() throws Exception {
        List<String> a = javaArgs(Map.of("MICROFORGE_JAVA_OPTS", "-Xmx1g -XX:+DisplayVMOutput"), "nar", "hash", "p");
        int user = a.indexOf("-XX:+DisplayVMOutput");
        assertTrue(user > a.indexOf("-XX:-DisplayVMOutput") && a.indexOf("-Xmx1g") == user - 1 && a.get(user + 1).equals("-jar"), a.toString());
    }

    @Test
    void classDataSharingArchiveBesideTheJarIsMappedUnlessTurnedOff() throws Exception {
        String flag = "-XX:SharedArchiveFile=" + dir.resolve("microforge.jsa");
        assertFalse(javaArgs("--version").stream().anyMatch(a -> a.startsWith("-XX:SharedArchiveFile")));
        Files.writeString(dir.resolve("microforge.jsa"), "");
        for (List<String> a : List.of(javaArgs("--version"), javaArgs("image", "build", "--type", "squashfs", "--compression", "lz4"),
                javaArgs("image", "build", "--type", "squashfs", "--compression", "xz"), javaArgs("nar", "hash", "p"),
                javaArgs(Map.of("MICROFORGE_JIT", "default"), "audit", "size"))) {
            assertTrue(a.contains(flag) && a.indexOf(flag) < a.indexOf("-jar"), a.toString());
        }
        assertFalse(javaArgs(Map.of("MICROFORGE_CDS", "off"), "--version").contains(flag));
        // a jar newer than the archive (rebuilt or copied): left out
        Files.setLastModifiedTime(dir.resolve("microforge.jar"), java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(dir.resolve("microforge.jsa")).toMillis() + 5000));
        assertFalse(javaArgs("--version").contains(flag));
        Files.setLastModifiedTime(dir.resolve("microforge.jsa"), java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(dir.resolve("microforge.jar")).toMillis()));
        assertTrue(javaArgs("--version").contains(flag), "same mtime (as in the Nix store): used");
        // the user's options come after it: MICROFORGE_JAVA_OPTS=-Xshare:off turns it off as well
        List<String> u = javaArgs(Map.of("MICROFORGE_JAVA_OPTS", "-Xshare:off"), "--version");
        assertTrue(u.indexOf("-Xshare:off") > u.indexOf(flag), u.toString());
    }

    /** Runs the launcher in {@code where} with the real JVM. */
    private Exec.Result launch(Path where, Map<String, String> env, List<String> args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", where.resolve("microforge").toString()));
        cmd.addAll(args);
        Map<String, String> e = new HashMap<>(Map.of("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "MICROFORGE_JAVA_OPTS", "", "MICROFORGE_JIT", "", "MICROFORGE_CDS", ""));
        e.putAll(env);
        return Exec.run(cmd, tmp, e, 120);
    }

    /** Where the JVM took dev.microforge.cli.Main from, by its class-loading log. */
    private static String mainSource(Path log) throws IOException {
        return Files.readAllLines(log).stream().filter(l -> l.contains(" dev.microforge.cli.Main source: ")).findFirst()
                .map(l -> l.substring(l.indexOf(" source: ") + 9)).orElseThrow(() -> new AssertionError("Main not loaded: " + log));
    }

    /**
     * The archive as src/main/cds/train.sh writes it for the packaged jar, with the real JVM: the launcher maps it
     * (-Xshare:on fails when it cannot), the classes come from it, the image has the bytes of a run without it;
     * after the jar changes (its mtime), or with a corrupt, truncated or empty archive, the launcher runs without it
     * and prints nothing more. The install directory has no space in its name: the JDK 17 JVM maps no class of a jar
     * whose path has one (only the JDK's classes then come from the archive).
     */
    @Test
    @Tag("packaged")
    void realJvmMapsTheTrainedArchiveAndSilentlyRunsWithoutAStaleOne() throws Exception {
        Path jar = Path.of(System.getProperty("microforge.jar", Tools.projectRoot().resolve("target/microforge.jar").toString()));
        assertTrue(Files.isRegularFile(jar), jar + ": run mvn package first");
        Path inst = Files.createDirectories(tmp.resolve("cds-install"));
        for (Path f : List.of(dir.resolve("microforge"), dir.resolve("squashfs-lz4.jit.json"))) {
            Files.copy(f, inst.resolve(f.getFileName().toString()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.copy(jar, inst.resolve("microforge.jar"));
        Path archive = inst.resolve("microforge.jsa");
        List<String> train = List.of("sh", Tools.projectRoot().resolve("src/main/cds/train.sh").toString(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), inst.resolve("microforge.jar").toString(), archive.toString());
        Exec.Result t = Exec.run(train, tmp, null, 300).check(train);
        assertEquals("", t.out() + t.stderr());
        assertTrue(Files.size(archive) > 1 << 20, "archive of " + Files.size(archive) + " bytes");

        Path example = Tools.projectRoot().resolve("tests/example");
        Path log = tmp.resolve("classes.log");
        java.util.function.Function<String, List<String>> build = out -> List.of("image", "build", "--type", "squashfs",
                "--compression", "lz4", "--closure", example.resolve("closure.json").toString(), "--real-store",
                example.resolve("store").toString(), "-o", tmp.resolve(out).toString());
        Exec.Result off = launch(inst, Map.of("MICROFORGE_CDS", "off"), build.apply("off.img"));
        assertEquals(0, off.exitCode(), off.stderr());
        Exec.Result on = launch(inst, Map.of("MICROFORGE_JAVA_OPTS", "-Xshare:on -Xlog:class+load:file=" + log), build.apply("on.img"));
        assertEquals(0, on.exitCode(), on.stderr());
        assertEquals("", on.stderr());
        assertEquals(off.out(), on.out());
        assertEquals("shared objects file", mainSource(log));
        assertEquals(-1L, Files.mismatch(tmp.resolve("off.img"), tmp.resolve("on.img")));

        // stale: the jar is not the one the archive was written for (older than the archive, so the launcher
        // passes it: the JVM refuses it)
        Files.setLastModifiedTime(inst.resolve("microforge.jar"), java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(inst.resolve("microforge.jar")).toMillis() - 10_000));
        Exec.Result stale = launch(inst, Map.of("MICROFORGE_JAVA_OPTS", "-Xlog:class+load:file=" + log), build.apply("stale.img"));
        assertEquals(0, stale.exitCode(), stale.stderr());
        assertEquals("", stale.stderr());
        assertEquals(off.out(), stale.out());
        assertTrue(mainSource(log).startsWith("file:"), mainSource(log));
        assertEquals(-1L, Files.mismatch(tmp.resolve("off.img"), tmp.resolve("stale.img")));

        // corrupt, truncated, empty
        byte[] bytes = Files.readAllBytes(archive);
        Files.delete(archive);
        byte[] flipped = bytes.clone();
        for (int i = 0; i < flipped.length; i += 4096) {
            flipped[i] ^= 0x5a;
        }
        for (byte[] bad : List.of(flipped, java.util.Arrays.copyOf(bytes, 4096), new byte[0])) {
            Files.write(archive, bad);
            Exec.Result r = launch(inst, Map.of(), List.of("--version"));
            assertEquals(0, r.exitCode(), r.stderr());
            assertEquals("", r.stderr());
            assertTrue(r.out().startsWith("microforge "), r.out());
        }
    }

    /** `mvn package` writes target/microforge.jsa for target/microforge.jar, and target/microforge maps it. */
    @Test
    @Tag("packaged")
    void packagedLauncherMapsTheArchiveMavenBuilt() throws Exception {
        Path target = Path.of(System.getProperty("microforge.jar", Tools.projectRoot().resolve("target/microforge.jar").toString())).getParent();
        assertTrue(Files.isRegularFile(target.resolve("microforge.jsa")), target + "/microforge.jsa: not built by mvn package");
        Path log = tmp.resolve("classes.log");
        List<String> cmd = List.of("sh", target.resolve("microforge").toString(), "--version");
        Exec.Result r = Exec.run(cmd, tmp, Map.of("MICROFORGE_JAVA_OPTS", "-Xshare:on -Xlog:class+load:file=" + log,
                "MICROFORGE_CDS", ""), 60);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr());
        assertEquals("shared objects file", mainSource(log));
    }

    @Test
    void missingJarIsOneClearLine() throws Exception {
        Files.delete(dir.resolve("microforge.jar"));
        Exec.Result r = Exec.run(List.of("sh", dir.resolve("microforge").toString(), "--version"), tmp, Map.of(), 30);
        assertEquals(1, r.exitCode());
        assertTrue(r.stderr().startsWith("microforge: ") && r.stderr().contains("microforge.jar not found"), r.stderr());
    }

    /**
     * A stand-in for {@code java} that replaces the launcher's {@code -jar JAR} by this test's class path and
     * {@code dev.microforge.cli.Main}, then runs {@code $MF_JAVA} with everything else unchanged.
     */
    private Path classPathJava() throws IOException {
        Path wrapper = tmp.resolve("java-cp");
        Files.writeString(wrapper, "#!/bin/sh\n"
                + "for a in \"$@\"; do shift; if [ \"$skip\" = 1 ]; then skip=; continue; fi\n"
                + "  if [ \"$a\" = -jar ]; then skip=1; set -- \"$@\" -cp \"$MF_CP\" dev.microforge.cli.Main; else set -- \"$@\" \"$a\"; fi\n"
                + "done\nexec \"$MF_JAVA\" \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        return wrapper;
    }

    /**
     * The real JVM with the real profile file (a wrapper replaces '-jar JAR' by this test's class path): the JVM
     * accepts the flags and parses the directives, stdout carries exactly what the in-process CLI prints.
     */
    @Test
    void realJvmWithTheProfilePrintsTheSameBytes() throws Exception {
        Path wrapper = classPathJava();
        Path store = Tools.projectRoot().resolve("tests/example/store");
        List<String> paths = new java.util.ArrayList<>();
        try (var s = Files.list(store)) {
            s.sorted().forEach(p -> paths.add(p.toString()));
        }
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", dir.resolve("microforge").toString(), "nar", "hash", "--format", "json"));
        cmd.addAll(paths);
        Map<String, String> env = new HashMap<>(Map.of("JAVA", wrapper.toString(), "MF_CP", System.getProperty("java.class.path"),
                "MF_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString(), "MICROFORGE_JAVA_OPTS", "", "MICROFORGE_JIT", ""));
        String[] inProcess = new String[4 + paths.size()];
        inProcess[0] = "nar";
        inProcess[1] = "hash";
        inProcess[2] = "--format";
        inProcess[3] = "json";
        for (int i = 0; i < paths.size(); i++) {
            inProcess[4 + i] = paths.get(i);
        }
        String expected = Cli.run(inProcess).out();
        Exec.Result profiled = Exec.run(cmd, tmp, env, 60).check(cmd);
        assertEquals(expected, profiled.out());
        assertEquals("", profiled.stderr());
        env.put("MICROFORGE_JIT", "default");
        assertEquals(expected, Exec.run(cmd, tmp, env, 60).check(cmd).out());
        // the JVM really parsed the file (its announcement, normally hidden, shows with DisplayVMOutput back on)
        env.put("MICROFORGE_JIT", "");
        env.put("MICROFORGE_JAVA_OPTS", "-XX:+DisplayVMOutput");
        String shown = Exec.run(cmd, tmp, env, 60).check(cmd).out();
        assertTrue(shown.startsWith("2 compiler directives added\n") && shown.endsWith(expected), shown);
    }

    /** The squashfs lz4 profile (LZ4 HC) with the real JVM: the JVM parses it, and the image has the same bytes as in-process. */
    @Test
    void realJvmWithTheSquashfsProfileWritesTheSameImage() throws Exception {
        Path wrapper = classPathJava();
        Path example = Tools.projectRoot().resolve("tests/example");
        List<String> args = List.of("image", "build", "--type", "squashfs", "--closure", example.resolve("closure.json").toString(),
                "--real-store", example.resolve("store").toString(), "--compression", "lz4", "--level", "9");
        Path inProcess = tmp.resolve("in-process.img");
        List<String> a = new java.util.ArrayList<>(args);
        a.addAll(List.of("-o", inProcess.toString()));
        Cli.Result r = Cli.run(a.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        Path launched = tmp.resolve("launched.img");
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", dir.resolve("microforge").toString()));
        cmd.addAll(args);
        cmd.addAll(List.of("-o", launched.toString()));
        Map<String, String> env = new HashMap<>(Map.of("JAVA", wrapper.toString(), "MF_CP", System.getProperty("java.class.path"),
                "MF_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString(), "MICROFORGE_JIT", "",
                "MICROFORGE_JAVA_OPTS", "-XX:+DisplayVMOutput"));
        Exec.Result e = Exec.run(cmd, tmp, env, 60).check(cmd);
        assertTrue(e.out().startsWith("2 compiler directives added"), e.out());
        assertEquals(-1L, Files.mismatch(inProcess, launched));
    }
}
