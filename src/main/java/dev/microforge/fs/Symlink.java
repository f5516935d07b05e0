package dev.microforge.fs;

import java.util.Arrays;

/** A symbolic link; the target is raw bytes, never followed. */
public record Symlink(byte[] target) implements Node {
    public Symlink {
        target = target.clone();
    }

    @Override
    public byte[] target() {
        return target.clone();
    }

    @Override
    public int mode() {
        return Reproducible.SYMLINK_MODE;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Symlink s && Arrays.equals(s.target, target);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(target);
    }
}
