package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit why} against Nix 2.8's {@code nix why-depends} on the closure it built ({@code tests/fixtures/audit.nix}):
 * {@code --all} and {@code --all --precise} print the same tree as Nix (colours aside), from the live store and from a
 * closure file with the paths copied elsewhere ({@code --real-store}); the default view's chains are exactly the
 * shortest chains through the edges Nix's {@code --all} tree shows.
 */
@Tag("oracle")
class AuditWhyOracleTest {
    static String nixWhy(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nix").toString(), "--extra-experimental-features", "nix-command",
                "--option", "substituters", "", "why-depends"));
        cmd.addAll(List.of(args));
        Exec.Result r = Exec.run(cmd, null, null, 300);
        assertEquals(0, r.exitCode(), r.stderr());
        return new String(r.stdout(), StandardCharsets.UTF_8).replaceAll("\u001b\\[[0-9;]*m", "");
    }

    /** The edges (parent path, child path) of a why-depends tree (non-precise form). */
    static Set<List<String>> edges(String tree) {
        Set<List<String>> out = new TreeSet<>((a, b) -> (a.get(0) + " " + a.get(1)).compareTo(b.get(0) + " " + b.get(1)));
        List<String> stack = new ArrayList<>();
        for (String line : tree.split("\n")) {
            int at = line.indexOf("/nix/store/");
            if (at < 0) {
                continue;
            }
            int depth = line.substring(0, at).codePointCount(0, at) / 4;
            String path = line.substring(at);
            while (stack.size() > depth) {
                stack.remove(stack.size() - 1);
            }
            if (depth > 0) {
                out.add(List.of(stack.get(depth - 1), path));
            }
            stack.add(path);
        }
        return out;
    }

    /** Every chain root..leaf of a tree whose leaf is {@code to}. */
    static Set<String> chains(String tree, String to) {
        Set<String> out = new TreeSet<>();
        List<String> stack = new ArrayList<>();
        for (String line : tree.split("\n")) {
            int at = line.indexOf("/nix/store/");
            if (at < 0) {
                continue;
            }
            int depth = line.substring(0, at).codePointCount(0, at) / 4;
            while (stack.size() > depth) {
                stack.remove(stack.size() - 1);
            }
            stack.add(line.substring(at));
            if (line.endsWith(to)) {
                out.add(String.join(" -> ", stack));
            }
        }
        return out;
    }

    /** All shortest chains from {@code from} to {@code to} over the given edges (enumerated by the test). */
    static Set<String> shortest(Set<List<String>> edges, String from, String to) {
        Map<String, List<String>> succ = new LinkedHashMap<>();
        for (List<String> e : edges) {
            succ.computeIfAbsent(e.get(0), k -> new ArrayList<>()).add(e.get(1));
        }
        List<List<String>> layer = List.of(List.of(from));
        while (!layer.isEmpty()) {
            Set<String> done = new TreeSet<>();
            for (List<String> c : layer) {
                if (c.get(c.size() - 1).equals(to)) {
                    done.add(String.join(" -> ", c));
                }
            }
            if (!done.isEmpty()) {
                return done;
            }
            List<List<String>> next = new ArrayList<>();
            for (List<String> c : layer) {
                for (String s : succ.getOrDefault(c.get(c.size() - 1), List.of())) {
                    if (!c.contains(s)) {
                        List<String> d = new ArrayList<>(c);
                        d.add(s);
                        next.add(d);
                    }
                }
            }
            layer = next;
        }
        return Set.of();
    }

    @Test
    void sameTreesAndChainsAsNixWhyDepends(@TempDir Path tmp) throws Exception {
        Path top = AuditOracleTest.fixture("top");
        // a copy of the closure elsewhere, read through a closure file and --real-store
        Path store = tmp.resolve("store");
        Files.createDirectories(store);
        for (String p : NixFixtures.requisites(top)) {
            Exec.ok("cp", "-a", p, store.toString());
        }
        Path json = tmp.resolve("closure.json");
        Files.write(json, NixFixtures.pathInfoJson(true, List.of(top.toString())));

        List<String[]> pairs = new ArrayList<>();
        for (String[] p : new String[][] {{"top", "libc"}, {"top", "tool"}, {"top", "gcc"}, {"app", "libc"}, {"etc", "libc"}, {"libc", "libc"}}) {
            pairs.add(new String[] {AuditOracleTest.fixture(p[0]).toString(), AuditOracleTest.fixture(p[1]).toString()});
        }
        int compared = 0;
        for (String[] p : pairs) {
            for (List<String> opts : List.of(List.of("--all"), List.of("--all", "--precise"))) {
                List<String> nixArgs = new ArrayList<>(opts);
                nixArgs.addAll(List.of(p[0], p[1]));
                String nix = nixWhy(nixArgs.toArray(String[]::new));
                List<String> live = new ArrayList<>(List.of("audit", "why"));
                live.addAll(nixArgs);
                Cli.Result r = Cli.run(live.toArray(String[]::new));
                assertEquals(0, r.exitCode(), r.err());
                assertEquals(nix, r.out(), "audit why " + String.join(" ", nixArgs) + " (live store)");
                List<String> file = new ArrayList<>(live);
                file.addAll(List.of("--closure", json.toString(), "--real-store", store.toString()));
                Cli.Result rf = Cli.run(file.toArray(String[]::new));
                assertEquals(0, rf.exitCode(), rf.err());
                assertEquals(nix, rf.out(), "audit why " + String.join(" ", nixArgs) + " (closure file, --real-store)");
                compared++;
            }
            // the default view: every shortest chain, as the shortest chains through the edges of Nix's --all tree
            if (!p[0].equals(p[1])) {
                Set<String> expected = shortest(edges(nixWhy("--all", p[0], p[1])), p[0], p[1]);
                Cli.Result r = Cli.run("audit", "why", p[0], p[1]);
                assertEquals(0, r.exitCode(), r.err());
                assertEquals(expected, chains(r.out(), p[1]), r.out());
                assertTrue(r.out().endsWith(expected.size() + (expected.size() == 1 ? " shortest chain, " : " shortest chains, ")
                        + (expected.iterator().next().split(" -> ").length - 1) + " reference" + (expected.iterator().next().split(" -> ").length == 2 ? "" : "s") + " long\n"), r.out());
            }
        }
        assertEquals(12, compared);
        // top -> libc has two shortest chains (through tool and through app)
        assertEquals(2, chains(Cli.run("audit", "why", pairs.get(0)[0], "mini-libc-2.38").out(), pairs.get(0)[1]).size());

        // bad input: one line, exit 2
        Cli.Result no = Cli.run("audit", "why", "--closure", json.toString(), AuditOracleTest.fixture("libc").toString(), top.toString());
        assertEquals(2, no.exitCode());
        assertEquals(AuditOracleTest.fixture("libc") + " does not depend on " + top, no.err().strip().replaceFirst("^microforge: ", ""));
        Cli.Result none = Cli.run("audit", "why", "--closure", json.toString(), top.toString(), "no-such-1.0");
        assertEquals(2, none.exitCode());
        assertEquals(1, none.err().strip().lines().count(), none.err());
    }
}
