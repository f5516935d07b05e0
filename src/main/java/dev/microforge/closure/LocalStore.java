package dev.microforge.closure;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The closure of roots in the local Nix store, asking the local {@code nix-store}: {@code --query --requisites}
 * for the members, then {@code --dump-db} for their registration (narHash, narSize, deriver, references).
 * Roots may be store paths, paths inside store paths, or symlinks to them (e.g. {@code ./result}).
 */
public final class LocalStore {
    private static final int BATCH = 500;

    private LocalStore() {}

    public static ClosureGraph closure(List<String> roots, String storeDir) {
        if (roots.isEmpty()) {
            throw new UserError("--from-store: give at least one root");
        }
        String nixStore = findNixStore();
        TreeSet<StorePath> declared = new TreeSet<>();
        for (String r : roots) {
            declared.add(resolveRoot(r, storeDir));
        }
        List<String> args = new ArrayList<>(List.of(nixStore, "--query", "--requisites"));
        for (StorePath p : declared) {
            args.add(p.path());
        }
        String members = run(args, "--from-store " + String.join(" ", roots));
        List<String> paths = new ArrayList<>();
        for (String line : members.split("\n")) {
            if (!line.isEmpty()) {
                paths.add(line);
            }
        }
        StringBuilder db = new StringBuilder();
        for (int i = 0; i < paths.size(); i += BATCH) {
            List<String> dump = new ArrayList<>(List.of(nixStore, "--dump-db"));
            dump.addAll(paths.subList(i, Math.min(paths.size(), i + BATCH)));
            db.append(run(dump, "--from-store"));
        }
        String source = "nix-store --dump-db (--from-store)";
        ClosureGraph g = LineFormat.read(source, storeDir, db.toString().getBytes(StandardCharsets.US_ASCII), true);
        return g.withRoots(declared);
    }

    /** Follows symlinks until a path in the store directory is reached, like Nix's followLinksToStorePath. */
    static StorePath resolveRoot(String root, String storeDir) {
        Path p = Path.of(root).toAbsolutePath().normalize();
        String prefix = storeDir + "/";
        for (int hops = 0; hops < 40 && !p.toString().startsWith(prefix); hops++) {
            if (!Files.isSymbolicLink(p)) {
                break;
            }
            try {
                Path target = Files.readSymbolicLink(p);
                p = p.getParent().resolve(target).normalize();
            } catch (IOException e) {
                throw new UserError(root + ": cannot read symlink: " + e.getMessage());
            }
        }
        String s = p.toString();
        if (!s.startsWith(prefix)) {
            throw new UserError(root + ": not in the Nix store " + storeDir + " (nor a symlink into it)");
        }
        String rest = s.substring(prefix.length());
        int slash = rest.indexOf('/');
        String base = slash < 0 ? rest : rest.substring(0, slash);
        try {
            StorePath sp = StorePath.parseBaseName(storeDir, base);
            if (!Files.exists(Path.of(sp.path()), LinkOption.NOFOLLOW_LINKS)) {
                throw new UserError(root + ": " + sp + " does not exist");
            }
            return sp;
        } catch (IllegalArgumentException e) {
            throw new UserError(root + ": " + e.getMessage());
        }
    }

    static String findNixStore() {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "nix-store");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        for (String d : new String[] {"/run/current-system/sw/bin", "/nix/var/nix/profiles/default/bin"}) {
            Path p = Path.of(d, "nix-store");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new UserError("--from-store: nix-store is not on PATH (install Nix or use --closure with a closure file)");
    }

    private static String run(List<String> cmd, String what) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process proc = pb.start();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> drain(proc.getErrorStream()));
            byte[] out = drain(proc.getInputStream());
            if (!proc.waitFor(600, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new UserError(what + ": nix-store did not finish within 600 s");
            }
            String e = new String(err.join(), StandardCharsets.UTF_8).strip();
            if (proc.exitValue() != 0) {
                String first = e.isEmpty() ? "exit code " + proc.exitValue() : e.lines().reduce((a, b) -> b).orElse(e);
                throw new UserError(what + ": nix-store failed: " + first.strip());
            }
            return new String(out, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UserError(what + ": cannot run nix-store: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError(what + ": interrupted");
        }
    }

    private static byte[] drain(InputStream in) {
        try (in) {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            in.transferTo(bos);
            return bos.toByteArray();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
