package dev.microforge.host;

import dev.microforge.util.UserError;
import dev.microforge.vm.VmSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The VMs declared on a host, microvm.nix's {@code microvm -l} view: every directory under the state directory
 * (default /var/lib/microforge) with a {@code current} link (the declared runner, set by the host module or by
 * hand) is a VM. It runs while its {@code booted} link exists (the microforge-vm@ unit writes it at start with the
 * runner it started and removes it at stop), unless the link is older than the last boot of the host (a stale link
 * left by a crash). A running VM is outdated when its booted runner is not the one {@code current} resolves to.
 * Paths are read under {@code root} ("/" for real, a fake tree in tests); names are sorted by bytes.
 */
public final class VmList {
    public enum State {
        running, outdated, stopped
    }

    /** One VM; {@code booted} is null when it does not run. */
    public record Vm(String name, State state, String current, String booted) {}

    private VmList() {}

    public static List<Vm> list(Path root, String stateDir) throws IOException {
        if (!stateDir.startsWith("/")) {
            throw new UserError("--state-dir: '" + stateDir + "' is not an absolute path");
        }
        Path base = under(root, stateDir);
        if (!Files.isDirectory(base)) {
            throw new UserError(stateDir + ": no such directory (no VM was installed here)");
        }
        Long bootTime = bootTime(root);
        List<Path> dirs;
        try (var s = Files.list(base)) {
            dirs = new ArrayList<>(s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList());
        }
        dirs.sort((a, b) -> Arrays.compareUnsigned(bytes(a), bytes(b)));
        List<Vm> out = new ArrayList<>();
        for (Path d : dirs) {
            Path cur = d.resolve("current");
            if (!VmSpec.NAME.matcher(d.getFileName().toString()).matches() || !Files.isSymbolicLink(cur)) {
                continue;
            }
            String current = resolve(root, d, cur);
            Path bootedLink = d.resolve("booted");
            String booted = null;
            if (Files.isSymbolicLink(bootedLink)) {
                long mtime = Files.readAttributes(bootedLink, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .lastModifiedTime().toMillis() / 1000;
                if (bootTime == null || mtime >= bootTime) {
                    booted = resolve(root, d, bootedLink);
                }
            }
            State st = booted == null ? State.stopped : booted.equals(current) ? State.running : State.outdated;
            out.add(new Vm(d.getFileName().toString(), st, current, booted));
        }
        return out;
    }

    private static byte[] bytes(Path p) {
        return p.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Path under(Path root, String abs) {
        return root.resolve(abs.substring(1));
    }

    /**
     * The host path a link finally names: links followed (absolute targets taken under the root) as far as they
     * exist; a target that does not exist is reported as written.
     */
    static String resolve(Path root, Path dir, Path link) throws IOException {
        String hostDir = "/" + root.relativize(dir).toString().replace('\\', '/');
        String path = Files.readSymbolicLink(link).toString();
        if (!path.startsWith("/")) {
            path = hostDir + "/" + path;
        }
        for (int i = 0; i < 40; i++) {
            Path p = under(root, path);
            if (!Files.isSymbolicLink(p)) {
                break;
            }
            String t = Files.readSymbolicLink(p).toString();
            path = t.startsWith("/") ? t : Path.of(path).getParent().resolve(t).toString();
        }
        return Path.of(path).normalize().toString();
    }

    /** btime of ROOT/proc/stat, in seconds since the epoch; null when unknown. */
    static Long bootTime(Path root) throws IOException {
        try {
            for (String l : Files.readAllLines(root.resolve("proc/stat"), StandardCharsets.ISO_8859_1)) {
                if (l.startsWith("btime ")) {
                    return Long.parseLong(l.substring(6).strip());
                }
            }
        } catch (NoSuchFileException | NumberFormatException e) {
            return null;
        }
        return null;
    }
}
