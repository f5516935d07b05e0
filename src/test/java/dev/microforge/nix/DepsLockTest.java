package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nix/deps.json (the lock nix/package.nix builds from) against the pom: exactly the runtime jars Maven resolves
 * (target/runtime-dependencies.txt, written by maven-dependency-plugin in the validate phase), same versions,
 * and each sha256 that of the file in the local Maven repository. Needs no Nix; all but the test of
 * nix/update-deps.sh (which runs Maven) are fast, untagged tests.
 */
class DepsLockTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Tools.projectRoot();
    static final Path LOCK = ROOT.resolve("nix/deps.json");
    static final Path RESOLVED = ROOT.resolve("target/runtime-dependencies.txt");
    private static final Pattern LINE = Pattern.compile("^\\s+([^:\\s]+):([^:\\s]+):([^:\\s]+):([^:\\s]+):([^:\\s]+):(/\\S+)(?: -- .*)?$");
    private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;]*m");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    record Locked(String groupId, String artifactId, String version, String sha256) {
        String key() {
            return groupId + ":" + artifactId;
        }
    }

    record Resolved(String groupId, String artifactId, String type, String version, Path file) {
        String key() {
            return groupId + ":" + artifactId;
        }
    }

    static List<Resolved> resolved() throws IOException {
        assertTrue(Files.isRegularFile(RESOLVED), RESOLVED + " is missing: it is written by `mvn validate` (any build runs it)");
        List<Resolved> out = new ArrayList<>();
        for (String raw : Files.readAllLines(RESOLVED)) {
            Matcher m = LINE.matcher(ANSI.matcher(raw).replaceAll(""));
            if (m.matches()) {
                out.add(new Resolved(m.group(1), m.group(2), m.group(3), m.group(4), Path.of(m.group(6))));
            }
        }
        return out;
    }

    static List<Locked> lock(String json) throws IOException {
        List<Locked> out = new ArrayList<>();
        for (JsonNode e : JSON.readTree(json)) {
            assertEquals(List.of("groupId", "artifactId", "version", "sha256"), fieldNames(e), "nix/deps.json entry " + e);
            out.add(new Locked(e.get("groupId").asText(), e.get("artifactId").asText(), e.get("version").asText(),
                    e.get("sha256").asText()));
        }
        return out;
    }

    /** Every way the lock and Maven's resolution disagree, one line each; empty when the lock is current. */
    static List<String> disagreements(List<Resolved> resolved, List<Locked> lock) throws IOException {
        List<String> out = new ArrayList<>();
        Map<String, Locked> byKey = new LinkedHashMap<>();
        for (Locked l : lock) {
            if (byKey.put(l.key(), l) != null) {
                out.add(l.key() + " is in nix/deps.json twice");
            }
            if (!HEX64.matcher(l.sha256()).matches()) {
                out.add(l.key() + ": sha256 in nix/deps.json is not 64 lower-case hex digits: " + l.sha256());
            }
        }
        for (Resolved r : resolved) {
            Locked l = byKey.remove(r.key());
            if (!r.type().equals("jar")) {
                out.add(r.key() + ":" + r.version() + " has type " + r.type() + "; nix/package.nix only handles jars");
            } else if (l == null) {
                out.add(r.key() + ":" + r.version() + " is a runtime dependency of the pom but not in nix/deps.json");
            } else if (!l.version().equals(r.version())) {
                out.add(r.key() + ": the pom resolves version " + r.version() + ", nix/deps.json has " + l.version());
            } else {
                String actual = sha256(r.file());
                if (!actual.equals(l.sha256())) {
                    out.add(r.key() + ":" + r.version() + ": sha256 in nix/deps.json is " + l.sha256() + ", the file "
                            + r.file() + " has " + actual);
                }
            }
        }
        for (Locked l : byKey.values()) {
            out.add(l.key() + ":" + l.version() + " is in nix/deps.json but not a runtime dependency of the pom");
        }
        return out;
    }

    @Test
    void lockListsExactlyThePomsRuntimeJars() throws Exception {
        List<Resolved> resolved = resolved();
        // the resolution is real: the direct dependencies of the pom and some transitive ones are there
        List<String> keys = resolved.stream().map(Resolved::key).toList();
        for (String k : List.of("info.picocli:picocli", "com.fasterxml.jackson.core:jackson-databind",
                "com.fasterxml.jackson.core:jackson-core", "org.apache.commons:commons-compress", "org.tukaani:xz",
                "com.github.luben:zstd-jni")) {
            assertTrue(keys.contains(k), k + " not in " + keys);
        }
        assertTrue(keys.stream().noneMatch(k -> k.startsWith("org.junit")), "test dependencies are not runtime ones: " + keys);
        List<String> problems = disagreements(resolved, lock(Files.readString(LOCK)));
        assertEquals(List.of(), problems, "nix/deps.json is not current; run: bash nix/update-deps.sh");
    }

    @Test
    void lockIsSortedAndEveryEntryIsAMavenCentralPath() throws Exception {
        List<Locked> lock = lock(Files.readString(LOCK));
        List<String> keys = lock.stream().map(Locked::key).toList();
        assertEquals(keys.stream().sorted().toList(), keys, "nix/update-deps.sh writes the lock sorted");
        for (Locked l : lock) {
            // the coordinates become a mirror://maven/ URL as they are
            assertTrue((l.groupId() + l.artifactId() + l.version()).matches("[A-Za-z0-9._-]+"), l.toString());
        }
    }

    @Test
    void aDependencyMissingFromTheLockIsNamed() throws Exception {
        List<Resolved> resolved = resolved();
        List<Locked> lock = new ArrayList<>(lock(Files.readString(LOCK)));
        Locked gone = lock.stream().filter(l -> l.artifactId().equals("xz")).findFirst().orElseThrow();
        lock.remove(gone);
        assertEquals(List.of("org.tukaani:xz:" + gone.version() + " is a runtime dependency of the pom but not in nix/deps.json"),
                disagreements(resolved, lock));
    }

    @Test
    void aChangedVersionIsNamed() throws Exception {
        List<Resolved> resolved = resolved();
        List<Locked> lock = new ArrayList<>(lock(Files.readString(LOCK)));
        int i = indexOf(lock, "picocli");
        Locked p = lock.get(i);
        lock.set(i, new Locked(p.groupId(), p.artifactId(), "4.7.5", p.sha256()));
        assertEquals(List.of("info.picocli:picocli: the pom resolves version " + p.version() + ", nix/deps.json has 4.7.5"),
                disagreements(resolved, lock));
    }

    @Test
    void aWrongSha256IsNamedWithTheFile() throws Exception {
        List<Resolved> resolved = resolved();
        List<Locked> lock = new ArrayList<>(lock(Files.readString(LOCK)));
        int i = indexOf(lock, "jackson-core");
        Locked p = lock.get(i);
        String wrong = (p.sha256().charAt(0) == '0' ? "1" : "0") + p.sha256().substring(1);
        lock.set(i, new Locked(p.groupId(), p.artifactId(), p.version(), wrong));
        List<String> problems = disagreements(resolved, lock);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("com.fasterxml.jackson.core:jackson-core:" + p.version() + ": sha256 in nix/deps.json is " + wrong
                + ", the file /"), problems.get(0));
        assertTrue(problems.get(0).endsWith("jackson-core-" + p.version() + ".jar has " + p.sha256()), problems.get(0));
    }

    @Test
    void anEntryThePomNoLongerHasIsNamed() throws Exception {
        List<Resolved> resolved = resolved();
        List<Locked> lock = new ArrayList<>(lock(Files.readString(LOCK)));
        lock.add(new Locked("org.example", "gone", "1.0", "0".repeat(64)));
        assertEquals(List.of("org.example:gone:1.0 is in nix/deps.json but not a runtime dependency of the pom"),
                disagreements(resolved, lock));
    }

    /**
     * nix/update-deps.sh in a copy of the project (pom.xml, the script, a stale lock): --check refuses the stale
     * lock, the default mode writes exactly the committed lock. Runs Maven offline (tag oracle: needs mvn and the
     * dependency plugin in the local repository, which any build of this pom fetches).
     */
    @Test
    @Tag("oracle")
    void updateScriptRewritesAStaleLockToTheCommittedOne(@TempDir Path tmp) throws Exception {
        Path mvn = Tools.require("mvn");
        Files.createDirectories(tmp.resolve("nix"));
        Files.copy(ROOT.resolve("pom.xml"), tmp.resolve("pom.xml"));
        Files.copy(ROOT.resolve("nix/update-deps.sh"), tmp.resolve("nix/update-deps.sh"));
        String committed = Files.readString(LOCK);
        String stale = committed.replace("\"artifactId\": \"picocli\", \"version\": \"", "\"artifactId\": \"picocli\", \"version\": \"0.");
        assertNotEquals(committed, stale);
        Files.writeString(tmp.resolve("nix/deps.json"), stale);
        Map<String, String> env = Map.of("MVN", mvn.toString(), "MVN_ARGS", "-o");

        List<String> check = List.of("bash", tmp.resolve("nix/update-deps.sh").toString(), "--check");
        Exec.Result c = Exec.run(check, tmp, env, 300);
        assertEquals(1, c.exitCode(), c.stderr());
        assertTrue(c.stderr().contains("nix/deps.json is not current; run: bash nix/update-deps.sh"), c.stderr());
        assertEquals(stale, Files.readString(tmp.resolve("nix/deps.json")), "--check wrote the lock");

        List<String> update = List.of("bash", tmp.resolve("nix/update-deps.sh").toString());
        Exec.Result u = Exec.run(update, tmp, env, 300).check(update);
        assertEquals("nix/deps.json: " + lock(committed).size() + " jars\n", u.out());
        assertEquals(committed, Files.readString(tmp.resolve("nix/deps.json")));

        List<String> bad = List.of("bash", tmp.resolve("nix/update-deps.sh").toString(), "--frobnicate");
        Exec.Result b = Exec.run(bad, tmp, env, 60);
        assertEquals(2, b.exitCode());
        assertEquals(1, b.stderr().lines().count(), b.stderr());
    }

    private static int indexOf(List<Locked> lock, String artifactId) {
        for (int i = 0; i < lock.size(); i++) {
            if (lock.get(i).artifactId().equals(artifactId)) {
                return i;
            }
        }
        throw new AssertionError(artifactId + " not in nix/deps.json");
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
