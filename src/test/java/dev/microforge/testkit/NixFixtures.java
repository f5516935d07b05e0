package dev.microforge.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Real store paths built by the local Nix 2.8 (offline, no nixpkgs) for oracle tests, and Nix's own answers
 * about them. Every method requires the Nix tools through {@link Tools#require} (fails in strict mode, skips
 * elsewhere); Nix runs with the tests' settings ({@link NixEnv}).
 *
 * <pre>
 *   Path top = NixFixtures.storeModel("top");                 // tests/fixtures/store-model.nix
 *   Path p = NixFixtures.derivation("my-tree", "mkdir $out; echo hi > $out/x");  // any /bin/sh build script
 *   List&lt;String&gt; closure = NixFixtures.requisites(top);
 * </pre>
 */
public final class NixFixtures {
    private static final Map<String, Path> BUILT = new ConcurrentHashMap<>();

    private NixFixtures() {}

    /** The store-model fixture attribute ({@code tests/fixtures/store-model.nix}): leaf, top, graph, closureInfo, ... */
    public static Path storeModel(String attr) {
        return build(Tools.projectRoot().resolve("tests/fixtures/store-model.nix"), attr);
    }

    /** {@code nix-build --no-out-link FILE -A ATTR} (no -A when ATTR is empty; memoized per JVM); the output path. */
    public static Path build(Path nixFile, String attr, String... extraArgs) {
        String key = nixFile + "#" + attr + "#" + String.join(" ", extraArgs);
        return BUILT.computeIfAbsent(key, k -> {
            List<String> cmd = new ArrayList<>(List.of(Tools.require("nix-build").toString(),
                    "--no-out-link", nixFile.toString()));
            if (!attr.isEmpty()) {
                cmd.addAll(List.of("-A", attr));
            }
            cmd.addAll(List.of(extraArgs));
            String out = run(cmd).trim();
            return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
        });
    }

    private static final java.util.regex.Pattern STORE_PATH =
            java.util.regex.Pattern.compile("/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+");

    /**
     * Builds a one-output derivation named {@code name} whose /bin/sh {@code script} creates {@code $out}
     * (PATH is /usr/bin:/bin). Store paths named in the script (e.g. {@code /nix/store/...-leaf/bin/leaf}) become
     * real inputs through {@code builtins.storePath}, so Nix records the references the output really has.
     * Returns the output path.
     */
    public static Path derivation(String name, String script) {
        StringBuilder body = new StringBuilder();
        java.util.regex.Matcher m = STORE_PATH.matcher("set -e\n" + script);
        String text = "set -e\n" + script;
        int last = 0;
        while (m.find()) {
            body.append(nixString(text.substring(last, m.start()))).append(" + builtins.storePath ")
                    .append(nixString(m.group())).append(" + ");
            last = m.end();
        }
        body.append(nixString(text.substring(last)));
        String expr = "builtins.derivation { name = " + nixString(name) + "; system = builtins.currentSystem;"
                + " builder = \"/bin/sh\"; args = [ \"-c\" (" + body + ") ];"
                + " PATH = \"/usr/bin:/bin\"; }";
        return BUILT.computeIfAbsent("expr#" + expr, k -> {
            try {
                Path f = Files.createTempFile("microforge-fixture", ".nix");
                try {
                    Files.writeString(f, expr);
                    String out = run(List.of(Tools.require("nix-build").toString(), "--no-out-link", f.toString())).trim();
                    return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
                } finally {
                    Files.deleteIfExists(f);
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    /** A Nix string literal for any Java string: the one quoting helper of the test kit for generated Nix text. */
    public static String nixString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '$' -> sb.append(i + 1 < s.length() && s.charAt(i + 1) == '{' ? "\\$" : "$");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** {@code nix-store --query --requisites}: the closure of a path, as Nix lists it. */
    public static List<String> requisites(Path root) {
        return lines(run(List.of(Tools.require("nix-store").toString(), "--query", "--requisites", root.toString())));
    }

    /** {@code nix-store --query --references}: the registered references of a path. */
    public static List<String> references(String path) {
        return lines(run(List.of(Tools.require("nix-store").toString(), "--query", "--references", path)));
    }

    /** {@code nix-store --dump-db PATHS}: the registration lines with base16 hashes. */
    public static byte[] dumpDb(Collection<String> paths) {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix-store").toString(), "--dump-db"));
        cmd.addAll(paths);
        return runBytes(cmd);
    }

    /** {@code nix-store --dump PATH}: the NAR. */
    public static byte[] dump(String path) {
        return runBytes(List.of(Tools.require("nix-store").toString(), "--dump", path));
    }

    /** {@code nix path-info --json [--recursive] PATHS} (Nix 2.8: the list shape). */
    public static byte[] pathInfoJson(boolean recursive, Collection<String> paths) {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix").toString(), "--extra-experimental-features",
                "nix-command", "path-info", "--json"));
        if (recursive) {
            cmd.add("--recursive");
        }
        cmd.addAll(paths);
        return runBytes(cmd);
    }

    private static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        for (String l : s.split("\n")) {
            if (!l.isEmpty()) {
                out.add(l);
            }
        }
        return out;
    }

    static String run(List<String> cmd) {
        return new String(runBytes(cmd), StandardCharsets.UTF_8);
    }

    static byte[] runBytes(List<String> cmd) {
        try {
            // Nix 2.8 ends a build when the builder's log pipe closes and SIGKILLs its process group; a builder
            // whose last command closes stdout before exiting is then sometimes reported as "signal 9" on a
            // loaded machine. A build is idempotent, so such a failure is retried (twice at most).
            Exec.Result r = null;
            for (int attempt = 0; attempt < 3; attempt++) {
                r = Exec.run(cmd, null, null, 900);
                if (r.exitCode() == 0 || !r.stderr().contains("signal 9")) {
                    break;
                }
            }
            return r.check(cmd).stdout();
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
