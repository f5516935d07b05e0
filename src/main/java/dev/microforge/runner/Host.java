package dev.microforge.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The host preflight looks at: a root under which /dev, /sys, /etc and /proc are found ("/" for real; a fake tree in
 * tests), the working directory relative image paths are resolved against, the PATH, and who we are.
 */
public record Host(Path root, Path cwd, String path, boolean isRoot, String userName) {
    public Host {
        root = root.toAbsolutePath().normalize();
        cwd = cwd.toAbsolutePath().normalize();
        if (path == null) {
            path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
        }
    }

    /** This machine, as the current user. */
    public static Host current() {
        String user = System.getProperty("user.name", "?");
        return new Host(Path.of("/"), Path.of("").toAbsolutePath(), System.getenv("PATH"), isRootUser(), user);
    }

    static boolean isRootUser() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return Integer.valueOf(0).equals(uid);
        } catch (Exception e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** An absolute host path (under the root) or a path relative to the working directory. */
    public Path resolve(String hostPath) {
        if (hostPath.startsWith("/")) {
            return root.resolve(hostPath.substring(1));
        }
        return cwd.resolve(hostPath);
    }

    /** The first executable named {@code name} on PATH (PATH entries are taken under the root too). */
    public Path which(String name) {
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = resolve(dir).resolve(name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    public List<String> pathDirs() {
        return List.of(path.split(":"));
    }

    /** A NixOS host: {@code /etc/NIXOS} or {@code /run/current-system} exists. Fixes are then NixOS options. */
    public boolean nixos() {
        return Files.exists(resolve("/etc/NIXOS")) || Files.exists(resolve("/run/current-system"));
    }

    /** A Debian (or derived) host: {@code /etc/debian_version} exists; only there do fixes say apt-get. */
    public boolean debian() {
        return Files.exists(resolve("/etc/debian_version"));
    }

    /** The effective uid, or -1 when {@code /proc/self/status} cannot tell. */
    public long uid() {
        List<Long> l = status("Uid:");
        return l.size() > 1 ? l.get(1) : -1;
    }

    /** The effective gid and the supplementary groups ({@code /proc/self/status}); empty when unknown. */
    public Set<Long> gids() {
        Set<Long> s = new TreeSet<>();
        List<Long> g = status("Gid:");
        if (g.size() > 1) {
            s.add(g.get(1));
        }
        s.addAll(status("Groups:"));
        return s;
    }

    private List<Long> status(String key) {
        try {
            for (String line : Files.readAllLines(resolve("/proc/self/status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith(key)) {
                    List<Long> l = new ArrayList<>();
                    for (String f : line.substring(key.length()).trim().split("\\s+")) {
                        if (!f.isEmpty()) {
                            l.add(Long.parseLong(f));
                        }
                    }
                    return l;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown
        }
        return List.of();
    }
}
