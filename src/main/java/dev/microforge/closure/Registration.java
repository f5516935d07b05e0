package dev.microforge.closure;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;

/**
 * The registration file of a nixpkgs {@code closureInfo}, which {@code nix-store --load-db} reads to register
 * the paths of a store image: per path (in graph order, i.e. sorted by path) the path, narHash
 * ({@code sha256:<nix32>}, as closureInfo writes it), narSize, the deriver (an empty line when unknown), the
 * number of references and the references (sorted). Every line ends with a newline.
 */
public final class Registration {
    private Registration() {}

    /** The registration, with each path's deriver when the graph knows it (an empty line otherwise). */
    public static byte[] write(ClosureGraph g) {
        return write(g, true);
    }

    /**
     * The registration; with {@code derivers} false every deriver line is empty, exactly as nixpkgs'
     * closureInfo writes it (then the bytes do not depend on which closure format the graph came from).
     */
    public static byte[] write(ClosureGraph g, boolean derivers) {
        StringBuilder sb = new StringBuilder(g.size() * 256);
        for (PathInfo pi : g.paths()) {
            if (pi.narHash() == null || !pi.hasNarSize()) {
                throw new UserError(g.source() + ": " + pi.path() + " has no narHash/narSize, which a registration needs"
                        + " (use a closure format that carries them, or compute them from disk with ClosureScan)");
            }
            sb.append(pi.path().path()).append('\n');
            sb.append(pi.narHash().toNix32()).append('\n');
            sb.append(pi.narSize()).append('\n');
            sb.append(!derivers || pi.deriver() == null ? "" : pi.deriver().path()).append('\n');
            sb.append(pi.references().size()).append('\n');
            for (StorePath r : pi.references()) {
                sb.append(r.path()).append('\n');
            }
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
