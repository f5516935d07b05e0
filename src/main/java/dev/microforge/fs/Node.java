package dev.microforge.fs;

/** A node of the normalized file tree an image is built from. */
public sealed interface Node permits Dir, RegularFile, Symlink {
    /** The permission bits the image records (Nix's canonical modes, see {@link Reproducible}). */
    int mode();
}
