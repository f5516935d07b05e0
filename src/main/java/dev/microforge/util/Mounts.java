package dev.microforge.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The mount table as /proc/self/mountinfo gives it. */
public final class Mounts {
    private Mounts() {}

    /**
     * One mount: the st_dev of its file system (an anonymous 0:NN for btrfs, overlay, tmpfs), its mount point and its
     * source (the field after " - " and the file system type; null when the line has none), unescaped.
     */
    public record Mount(int major, int minor, String mountPoint, String source) {}

    /** The mounts of {@code mountinfo} (normally /proc/self/mountinfo). */
    public static List<Mount> read(Path mountinfo) throws IOException {
        return parse(Files.readAllLines(mountinfo, StandardCharsets.UTF_8));
    }

    /** The mounts of mountinfo lines "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS"; malformed lines are skipped. */
    public static List<Mount> parse(List<String> lines) {
        List<Mount> l = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length < 5) {
                continue;
            }
            String[] mm = f[2].split(":");
            int dash = Arrays.asList(f).indexOf("-");
            String source = dash >= 0 && dash + 2 < f.length ? unescape(f[dash + 2]) : null;
            try {
                l.add(new Mount(Integer.parseInt(mm[0]), Integer.parseInt(mm[1]), unescape(f[4]), source));
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                // malformed line: skip
            }
        }
        return l;
    }

    /** mountinfo (and /proc/swaps) escape space, tab, newline and backslash as \ooo. */
    public static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
