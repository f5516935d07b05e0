package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * nix/package.nix built by the real nix-build (Nix 2.8) against the stub nixpkgs, offline: the jars of nix/deps.json
 * come from the local Maven repository through the stub's fixed-output fetchurl (so the lock must hold the real
 * artifacts' sha256), the JDK from this machine. The built package is then run.
 */
@Tag("oracle")
@Tag("packaged")
class NixPackageOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Tools.projectRoot();
    static final Path BUILD = ROOT.resolve("tests/nix/build.nix");
    static final Path EXAMPLE = ROOT.resolve("tests/example");

    @TempDir
    Path tmp;

    private static Path built;

    static synchronized Path buildPackage() throws Exception {
        if (built == null) {
            Exec.Result r = NixTestSupport.nixBuild(BUILD, List.of("package"), NixTestSupport.packageArgs());
            assertEquals(0, r.exitCode(), r.stderr());
            List<String> outs = NixTestSupport.lines(r.stdout());
            assertEquals(1, outs.size(), outs.toString());
            built = Path.of(outs.get(0));
        }
        return built;
    }

    @Test
    void packageRunsVersionAndClosureShow() throws Exception {
        Path out = buildPackage();
        assertTrue(out.getFileName().toString().endsWith("-microforge-" + pomValue("version")), out.toString());
        Path bin = out.resolve("bin/microforge");

        List<String> version = List.of(bin.toString(), "--version");
        List<String> v = Exec.run(version, tmp, null, 60).check(version).out().lines().toList();
        assertEquals("microforge " + pomValue("version"), v.get(0), v.toString());

        List<String> show = List.of(bin.toString(), "closure", "show", "--closure", EXAMPLE.resolve("closure.json").toString());
        String text = Exec.run(show, tmp, null, 60).check(show).out();
        // every path of the closure file, with its narSize and narHash, as the file says (read here with Jackson)
        JsonNode closure = JSON.readTree(EXAMPLE.resolve("closure.json").toFile());
        assertTrue(closure.size() >= 3, closure.toString());
        for (JsonNode p : closure) {
            String line = p.get("path").asText() + " " + p.get("narSize").asLong() + " " + p.get("narHash").asText() + " closure ";
            assertTrue(text.lines().anyMatch(l -> l.startsWith(line)), line + "\n" + text);
        }
        // and byte for byte what the Maven-built jar prints
        List<String> viaMaven = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                mavenJar().toString(), "closure", "show", "--closure", EXAMPLE.resolve("closure.json").toString());
        assertEquals(Exec.run(viaMaven, tmp, null, 60).check(viaMaven).out(), text);
    }

    @Test
    void packageIsLaidOutLikeTheMavenBuild() throws Exception {
        Path share = buildPackage().resolve("share/microforge");
        List<DepsLockTest.Locked> lock = DepsLockTest.lock(Files.readString(ROOT.resolve("nix/deps.json")));

        // launcher and JIT profiles: every file of src/main/sh, same bytes, the launcher executable
        // and the class-data sharing archive (its use: installedPackageMapsItsClassDataArchive)
        TreeSet<String> expected = new TreeSet<>(List.of("microforge.jar", "microforge.jsa"));
        try (Stream<Path> s = Files.list(ROOT.resolve("src/main/sh"))) {
            for (Path f : s.toList()) {
                String name = f.getFileName().toString();
                expected.add(name);
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(share.resolve(name)), name);
                assertEquals(Files.isExecutable(f), Files.isExecutable(share.resolve(name)), name);
            }
        }
        assertTrue(Files.isExecutable(share.resolve("microforge")));
        assertTrue(expected.contains("hashing.jit.json") && expected.contains("squashfs-lz4.jit.json"), expected.toString());
        // the locked jars, byte for byte (their sha256 is the lock's)
        TreeMap<String, String> libs = new TreeMap<>();
        for (DepsLockTest.Locked l : lock) {
            String name = "lib/" + l.artifactId() + "-" + l.version() + ".jar";
            expected.add(name);
            libs.put(name, l.sha256());
            assertEquals(l.sha256(), DepsLockTest.sha256(share.resolve(name)), name);
        }
        TreeSet<String> actual = new TreeSet<>();
        try (Stream<Path> s = Files.walk(share)) {
            s.filter(Files::isRegularFile).forEach(p -> actual.add(share.relativize(p).toString()));
        }
        assertEquals(expected, actual);

        try (JarFile nix = new JarFile(share.resolve("microforge.jar").toFile());
                JarFile maven = new JarFile(mavenJar().toFile())) {
            Attributes a = nix.getManifest().getMainAttributes();
            Attributes m = maven.getManifest().getMainAttributes();
            // what makes the shaded jar run: the same entries in both manifests
            for (String k : List.of("Main-Class", "Add-Opens", "Enable-Native-Access", "Multi-Release", "Implementation-Version")) {
                assertEquals(m.getValue(k), a.getValue(k), k);
                assertTrue(a.getValue(k) != null && !a.getValue(k).isBlank(), k);
            }
            assertEquals(pomValue("version"), a.getValue("Implementation-Version"));
            // the dependencies by Class-Path, each beside the jar
            assertEquals(libs.keySet(), new TreeSet<>(Arrays.asList(a.getValue("Class-Path").trim().split("\\s+"))));
            // every class Maven compiled from src/main/java, none more, all with the pom's output timestamp
            TreeSet<String> nixClasses = new TreeSet<>();
            long time = java.time.Instant.parse(pomValue("project.build.outputTimestamp")).toEpochMilli();
            nix.stream().forEach(e -> {
                if (e.getName().endsWith(".class")) {
                    nixClasses.add(e.getName());
                }
                assertEquals(time, e.getLastModifiedTime().toMillis(), e.getName());
            });
            TreeSet<String> mavenClasses = new TreeSet<>();
            maven.stream().filter(e -> e.getName().startsWith("dev/microforge/") && e.getName().endsWith(".class"))
                    .forEach(e -> mavenClasses.add(e.getName()));
            assertTrue(mavenClasses.size() > 100, mavenClasses.size() + " classes");
            assertEquals(mavenClasses, nixClasses);
        }
    }

    @Test
    void dependenciesLoadFromTheClassPath() throws Exception {
        // zstd-jni (JNI library unpacked from its jar), commons-compress and xz, jackson: a zstd squashfs image of
        // the example store, read back by unsquashfs
        Path unsquashfs = Tools.require("unsquashfs");
        Path bin = buildPackage().resolve("bin/microforge");
        Path img = tmp.resolve("example.squashfs");
        List<String> build = List.of(bin.toString(), "image", "build", "--type", "squashfs", "--compression", "zstd",
                "--closure", EXAMPLE.resolve("closure.json").toString(), "--real-store", EXAMPLE.resolve("store").toString(),
                "-o", img.toString());
        Exec.run(build, tmp, null, 120).check(build);
        List<String> stat = List.of(unsquashfs.toString(), "-s", img.toString());
        String s = Exec.run(stat, tmp, null, 60).check(stat).out();
        assertTrue(s.contains("Compression zstd"), s);
        List<String> ls = List.of(unsquashfs.toString(), "-lc", img.toString());
        String files = Exec.run(ls, tmp, null, 60).check(ls).out();
        for (JsonNode p : JSON.readTree(EXAMPLE.resolve("closure.json").toFile())) {
            String base = Path.of(p.get("path").asText()).getFileName().toString();
            assertTrue(files.contains("/" + base + "/"), base + "\n" + files);
        }
    }

    /**
     * The installed package's launcher maps the class-data sharing archive built for the jar at its store path
     * (-Xshare:on fails when the JVM cannot map it): microforge's classes and those of a lib/ jar come from it, and
     * the image has the bytes the Maven-built jar writes.
     */
    @Test
    void installedPackageMapsItsClassDataArchive() throws Exception {
        Path out = buildPackage();
        Path log = tmp.resolve("classes.log");
        Path img = tmp.resolve("nix.img");
        List<String> build = List.of(out.resolve("bin/microforge").toString(), "image", "build", "--type", "squashfs",
                "--compression", "lz4", "--closure", EXAMPLE.resolve("closure.json").toString(), "--real-store",
                EXAMPLE.resolve("store").toString(), "-o", img.toString());
        Exec.Result r = Exec.run(build, tmp, Map.of("MICROFORGE_JAVA_OPTS", "-Xshare:on -Xlog:class+load:file=" + log), 120);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr());
        List<String> lines = Files.readAllLines(log);
        for (String cls : List.of("dev.microforge.cli.Main", "dev.microforge.image.squashfs.SquashfsWriter",
                "com.fasterxml.jackson.core.JsonFactory")) {
            assertTrue(lines.stream().anyMatch(l -> l.contains(" " + cls + " source: shared objects file")), cls + " not from the archive");
        }
        Path ref = tmp.resolve("maven.img");
        List<String> viaMaven = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                mavenJar().toString(), "image", "build", "--type", "squashfs", "--compression", "lz4", "--closure",
                EXAMPLE.resolve("closure.json").toString(), "--real-store", EXAMPLE.resolve("store").toString(), "-o", ref.toString());
        Exec.run(viaMaven, tmp, null, 120).check(viaMaven);
        assertEquals(-1L, Files.mismatch(ref, img));
    }

    @Test
    void jarsAreFixedOutputFetchesOfTheLock() throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        List<String> inst = new ArrayList<>(List.of(Tools.require("nix-instantiate").toString(), BUILD.toString(),
                "--argstr", "microforgeCommand", l.command().toString(), "-A", "package"));
        inst.addAll(NixTestSupport.packageArgs());
        String drv = NixTestSupport.lines(Exec.run(inst, null, null, 120).check(inst).stdout()).get(0);
        List<String> show = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "show-derivation", "--recursive", drv);
        JsonNode all = JSON.readTree(Exec.run(show, null, null, 120).check(show).stdout());
        Map<String, JsonNode> fetches = new TreeMap<>();
        all.fields().forEachRemaining(e -> {
            if (e.getKey().endsWith(".jar.drv")) {
                fetches.put(e.getValue().get("env").get("url").asText(), e.getValue());
            }
        });
        List<DepsLockTest.Locked> lock = DepsLockTest.lock(Files.readString(ROOT.resolve("nix/deps.json")));
        assertEquals(lock.size(), fetches.size(), fetches.keySet().toString());
        String unwrapped = null;
        for (var it = all.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (k.endsWith("-microforge-unwrapped-" + pomValue("version") + ".drv")) {
                unwrapped = k;
            }
        }
        assertTrue(unwrapped != null && all.get(drv).toString().contains(unwrapped), "no microforge-unwrapped input: " + all.fieldNames());
        for (DepsLockTest.Locked e : lock) {
            JsonNode d = fetches.get("mirror://maven/" + NixTestSupport.mavenPath(e));
            assertTrue(d != null, e + " not fetched: " + fetches.keySet());
            JsonNode o = d.get("outputs").get("out");
            // flat sha256 of the file, as in the lock
            assertEquals("sha256", o.get("hashAlgo").asText(), d.toString());
            assertEquals(e.sha256(), o.get("hash").asText(), d.toString());
            // the package's jar derivation (passthru.unwrapped) depends on it directly
            assertTrue(all.get(unwrapped).get("inputDrvs").has(findKey(all, d)), e.toString());
        }
    }

    @Test
    void aJarWhoseBytesDifferFromTheLockIsRefused() throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(BUILD, List.of("wrong-hash-jar"), NixTestSupport.packageArgs());
        assertNotEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("hash mismatch in fixed-output derivation"), r.stderr());
        assertTrue(r.stderr().contains("picocli-4.7.6.jar"), r.stderr());
    }

    @Test
    void seededJarsBuildWithoutFetchingAndTheBuildIsReproducible() throws Exception {
        buildPackage();
        Map<String, String> jarPaths = fetchOutputs();
        // take the fetched jars out of the store (nothing refers to them: the package holds copies)
        List<String> delete = new ArrayList<>(List.of(Tools.require("nix-store").toString(), "--delete"));
        delete.addAll(jarPaths.values());
        Exec.run(delete, null, null, 120).check(delete);
        jarPaths.values().forEach(p -> assertTrue(!Files.exists(Path.of(p)), p + " still there"));

        // nix/update-deps.sh --seed-store puts them back from the local Maven repository, at the fetchurl paths
        List<String> seed = List.of("bash", ROOT.resolve("nix/update-deps.sh").toString(), "--seed-store");
        Exec.Result sr = Exec.run(seed, ROOT, Map.of("MVN_ARGS", "-o"), 300).check(seed);
        assertEquals(new TreeSet<>(jarPaths.values()), new TreeSet<>(NixTestSupport.lines(sr.stdout())));

        // --check builds the jar derivation and the package again; the jar derivation needs the jars, and without
        // mavenRepo the stub's fetchurl would fail, so they can only come from the seeded store. And it fails when any
        // output byte differs from the first build. (Not the class-data sharing archive, package.cds: JDK 17 dumps
        // different bytes on every run, which is why it is a derivation of its own.)
        List<String> args = new ArrayList<>(List.of("--argstr", "jdkHome", arg("jdkHome"), "--check"));
        Exec.Result r = NixTestSupport.nixBuild(BUILD, List.of("package.unwrapped", "package"), args);
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(!r.stderr().contains(".jar.drv"), "a jar was fetched:\n" + r.stderr());
    }

    /** The locked jars' fetchurl derivations of the package: URL to output path. */
    private static Map<String, String> fetchOutputs() throws Exception {
        NixTestSupport.Launcher l = NixTestSupport.launcher();
        List<String> inst = new ArrayList<>(List.of(Tools.require("nix-instantiate").toString(), BUILD.toString(),
                "--argstr", "microforgeCommand", l.command().toString(), "-A", "package"));
        inst.addAll(NixTestSupport.packageArgs());
        String drv = NixTestSupport.lines(Exec.run(inst, null, null, 120).check(inst).stdout()).get(0);
        List<String> show = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "show-derivation", "--recursive", drv);
        JsonNode all = JSON.readTree(Exec.run(show, null, null, 120).check(show).stdout());
        Map<String, String> out = new TreeMap<>();
        all.fields().forEachRemaining(e -> {
            if (e.getKey().endsWith(".jar.drv")) {
                out.put(e.getValue().get("env").get("url").asText(), e.getValue().get("outputs").get("out").get("path").asText());
            }
        });
        return out;
    }

    @Test
    void flakeOutputsUseThePackage() throws Exception {
        Path out = buildPackage();
        String expr = """
                let
                  s = import %s { mavenRepo = %s; jdkHome = %s; };
                  sys = "x86_64-linux";
                in
                {
                  package = s.packages.${sys}.default.outPath;
                  microforge = s.packages.${sys}.microforge.outPath;
                  check = s.checks.${sys}.package.outPath;
                  app = s.apps.${sys}.default;
                  lib = builtins.attrNames s.lib;
                }
                """.formatted(ROOT.resolve("tests/nix/flake-eval.nix"), nixString(arg("mavenRepo")), nixString(arg("jdkHome")));
        List<String> cmd = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--json", "--expr", expr);
        Exec.Result r = Exec.run(cmd, null, null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        JsonNode v = JSON.readTree(r.stdout());
        assertEquals(out.toString(), v.get("package").asText());
        assertEquals(out.toString(), v.get("microforge").asText());
        assertEquals(out.toString(), v.get("check").asText());
        assertEquals("app", v.get("app").get("type").asText());
        assertEquals(out.resolve("bin/microforge").toString(), v.get("app").get("program").asText());
        for (String f : List.of("mkStoreDisk", "mkRunner", "mkMicroVM", "auditClosure", "guestModule")) {
            assertTrue(v.get("lib").toString().contains("\"" + f + "\""), f + " missing from lib: " + v.get("lib"));
        }
        // the app runs
        List<String> run = List.of(v.get("app").get("program").asText(), "--version");
        assertTrue(Exec.run(run, tmp, null, 60).check(run).out().startsWith("microforge " + pomValue("version") + "\n"));
    }

    private static String arg(String name) throws Exception {
        List<String> a = NixTestSupport.packageArgs();
        return a.get(a.indexOf(name) + 1);
    }

    private static String nixString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("$", "\\$") + "\"";
    }

    private static String findKey(JsonNode all, JsonNode value) {
        var it = all.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (e.getValue() == value) {
                return e.getKey();
            }
        }
        throw new AssertionError("not found");
    }

    static Path mavenJar() {
        Path jar = Path.of(System.getProperty("microforge.jar", ROOT.resolve("target/microforge.jar").toString()));
        assertTrue(Files.isRegularFile(jar), jar + " missing: run mvn package first");
        return jar;
    }

    /** The text of the first element named tag in pom.xml (project version, properties). */
    static String pomValue(String tag) throws Exception {
        Element project = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile())
                .getDocumentElement();
        Node n = project.getElementsByTagName(tag).item(0);
        if (n == null) {
            throw new AssertionError("pom.xml has no <" + tag + ">");
        }
        return n.getTextContent().trim();
    }
}
