package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The tests' Nix settings (tests/nix-test.conf) reach every Nix call: processes run by {@link Exec}, shell scripts
 * through tests/nix-env.sh, the in-process CLI through surefire; and no test runs Nix around them.
 */
class NixEnvTest {
    static final Path ROOT = Tools.projectRoot();

    @Test
    void theSettingsFileHoldsWhatAFreshMachineNeeds() {
        List<String> settings = NixEnv.config().lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertEquals(List.of("build-users-group =", "sandbox = false", "substituters ="), settings);
    }

    /** Nix itself reports the settings for a process run by Exec, whatever NIX_CONFIG the test JVM has. */
    @Test
    @Tag("oracle")
    void nixSeesTheSettings() throws Exception {
        List<String> cmd = List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command", "show-config", "--json");
        JsonNode c = new ObjectMapper().readTree(Exec.run(cmd, null, null, 120).check(cmd).stdout());
        assertEquals("", c.path("build-users-group").path("value").asText(), c.path("build-users-group").toString());
        assertEquals(false, c.path("sandbox").path("value").asBoolean(true), c.path("sandbox").toString());
        assertEquals(0, c.path("substituters").path("value").size(), c.path("substituters").toString());
    }

    /** A build that has never run before (a unique name) works as root without /etc/nix and without a nixbld group. */
    @Test
    @Tag("oracle")
    void aNewBuildRuns() throws Exception {
        String name = "nixenv-" + Long.toHexString(System.nanoTime());
        Path out = NixFixtures.derivation(name, "printf %s " + name + " > $out\n");
        assertEquals(name, Files.readString(out));
    }

    /** The scripts get the same settings: tests/nix-env.sh sets NIX_CONFIG to the file, replacing what was there. */
    @Test
    void scriptsGetTheSameSettings() throws Exception {
        List<String> cmd = List.of("bash", "-c", ". tests/nix-env.sh && printf %s \"$NIX_CONFIG\"");
        Exec.Result r = Exec.run(cmd, ROOT, Map.of("NIX_CONFIG", "sandbox = true"), 30).check(cmd);
        assertEquals(NixEnv.config().stripTrailing(), r.out());
    }

    /** Every script that runs a Nix command sources tests/nix-env.sh. */
    @Test
    void everyScriptThatRunsNixSourcesTheSettings() throws IOException {
        Pattern runsNix = Pattern.compile("(^\\s*|[$(|;&`]\\s*)nix(-build|-store|-instantiate|-hash|-env|-shell)?\\s+(-|[a-z])", Pattern.MULTILINE);
        List<Path> scripts = new ArrayList<>();
        for (String dir : List.of("tests", "bench")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".sh")).sorted().forEach(scripts::add);
            }
        }
        assertTrue(scripts.contains(ROOT.resolve("tests/example/update.sh")), scripts.toString());
        List<String> missing = new ArrayList<>();
        for (Path p : scripts) {
            String text = Files.readString(p).replaceAll("(?m)#.*$", "");
            if (runsNix.matcher(text).find() && !text.contains("nix-env.sh")) {
                missing.add(ROOT.relativize(p).toString());
            }
        }
        assertEquals(List.of(), missing, "these scripts run Nix without tests/nix-env.sh");
    }

    /** The CLI run in-process (--from-store runs nix-store) inherits the test JVM's environment: surefire sets it. */
    @Test
    void theTestJvmPointsNixAtTheSettings() {
        assertEquals(NixEnv.configFile().toString(), System.getenv("NIX_USER_CONF_FILES"));
    }

    /** Nix runs only through Exec (which adds the settings): no test starts a process of its own that runs Nix. */
    @Test
    void noTestRunsNixAroundExec() throws IOException {
        Pattern builderOfNix = Pattern.compile("new ProcessBuilder\\([^;]*\\b(nix|Nix)", Pattern.DOTALL);
        List<String> offenders = new ArrayList<>();
        Path src = ROOT.resolve("src/test/java");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String rel = src.relativize(f).toString();
                if (rel.endsWith("testkit/NixEnvTest.java")) {
                    continue;
                }
                String text = Files.readString(f);
                if (builderOfNix.matcher(text).find()) {
                    offenders.add(rel + ": a ProcessBuilder that runs Nix");
                }
                if (text.contains("\"NIX_CONFIG\"") && !rel.endsWith("testkit/NixEnv.java")) {
                    offenders.add(rel + ": sets NIX_CONFIG itself");
                }
            }
        }
        assertEquals(List.of(), offenders, "run Nix through Exec (testkit), which passes tests/nix-test.conf");
    }
}
