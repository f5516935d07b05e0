package dev.microforge.fs;

import dev.microforge.util.RawNames;
import java.util.Arrays;

/** A named child of a directory; the name is raw bytes. */
public record Entry(byte[] name, Node node) {
    public Entry {
        name = name.clone();
        if (name.length == 0 || name.length > 255) {
            throw new IllegalArgumentException("bad entry name length " + name.length);
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                throw new IllegalArgumentException("entry name contains '/' or NUL: " + RawNames.display(name));
            }
        }
        if (Arrays.equals(name, new byte[] {'.'}) || Arrays.equals(name, new byte[] {'.', '.'})) {
            throw new IllegalArgumentException("entry name '.' or '..'");
        }
    }

    @Override
    public byte[] name() {
        return name.clone();
    }

    /** The name without copying; callers must not modify it. */
    public byte[] nameRef() {
        return name;
    }

    public String displayName() {
        return RawNames.display(name);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && Arrays.equals(e.name, name) && e.node.equals(node);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(name) * 31 + node.hashCode();
    }
}
