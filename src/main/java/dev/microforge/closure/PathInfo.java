package dev.microforge.closure;

import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What a closure file says about one store path. {@code narHash} and {@code deriver} may be null and
 * {@code narSize} -1 when the format does not carry them. References are sorted and free of duplicates;
 * a self-reference is kept (it is real in Nix).
 */
public record PathInfo(StorePath path, List<StorePath> references, Hash narHash, long narSize, StorePath deriver) {
    public PathInfo {
        Objects.requireNonNull(path, "path");
        references = sortedDistinct(references) ? List.copyOf(references) : List.copyOf(new TreeSet<>(references));
        if (narSize < -1) {
            throw new IllegalArgumentException("negative narSize");
        }
    }

    private static boolean sortedDistinct(List<StorePath> refs) {
        for (int i = 1; i < refs.size(); i++) {
            if (refs.get(i - 1).compareTo(refs.get(i)) >= 0) {
                return false;
            }
        }
        return true;
    }

    public PathInfo(StorePath path, List<StorePath> references) {
        this(path, references, null, -1, null);
    }

    public boolean hasNarSize() {
        return narSize >= 0;
    }

    public PathInfo withNar(Hash hash, long size) {
        return new PathInfo(path, references, hash, size, deriver);
    }
}
