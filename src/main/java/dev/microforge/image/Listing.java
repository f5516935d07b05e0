package dev.microforge.image;

import dev.microforge.util.RawNames;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** {@code image ls}: one line per node, pre-order, names as on disk (non-UTF-8 bytes escaped as \xNN). */
public final class Listing {
    private Listing() {}

    /** Lists the whole tree; iterative, so any depth works (only the pending siblings are held). */
    public static void list(ImageFs fs, PrintWriter out) throws IOException {
        record Pending(ImageFs.Node node, String path) {}
        Deque<Pending> todo = new ArrayDeque<>();
        todo.push(new Pending(fs.root(), "/"));
        while (!todo.isEmpty()) {
            Pending p = todo.pop();
            out.println(line(p.node(), p.path()));
            if (p.node() instanceof ImageFs.DirNode d) {
                String prefix = p.path().equals("/") ? "/" : p.path() + "/";
                List<ImageFs.Child> children;
                try {
                    children = d.children();
                } catch (CorruptImageException e) {
                    throw e.at(p.path());
                }
                for (int i = children.size() - 1; i >= 0; i--) {
                    ImageFs.Child c = children.get(i);
                    todo.push(new Pending(c.node(), prefix + RawNames.display(c.name())));
                }
            }
        }
    }

    /** e.g. {@code -r-xr-xr-x 0/0 12345 /abc-hello/bin/hello}. */
    public static String line(ImageFs.Node node, String path) {
        StringBuilder sb = new StringBuilder();
        char type = node instanceof ImageFs.DirNode ? 'd' : node instanceof ImageFs.LinkNode ? 'l' : '-';
        sb.append(type).append(modeString(node.mode())).append(' ').append(node.uid()).append('/').append(node.gid()).append(' ');
        long size = node instanceof ImageFs.FileNode f ? f.size() : node instanceof ImageFs.LinkNode l ? l.target().length : 0;
        sb.append(size).append(' ').append(path);
        if (node instanceof ImageFs.LinkNode l) {
            sb.append(" -> ").append(RawNames.display(l.target()));
        }
        return sb.toString();
    }

    public static String modeString(int mode) {
        String chars = "rwxrwxrwx";
        StringBuilder sb = new StringBuilder(9);
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? chars.charAt(i) : '-');
        }
        if ((mode & 04000) != 0) {
            sb.setCharAt(2, (mode & 0100) != 0 ? 's' : 'S');
        }
        if ((mode & 02000) != 0) {
            sb.setCharAt(5, (mode & 010) != 0 ? 's' : 'S');
        }
        if ((mode & 01000) != 0) {
            sb.setCharAt(8, (mode & 01) != 0 ? 't' : 'T');
        }
        return sb.toString();
    }
}
