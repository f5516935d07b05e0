package dev.microforge.vm;

import java.util.List;

/**
 * A host directory shared with the guest (microvm.nix {@code microvm.shares.*}).
 *
 * @param proto         virtiofs or 9p (default 9p, as in microvm.nix)
 * @param tag           the mount tag the guest mounts by (at most 36 bytes; also a file name in the runner, so no
 *                      '/', not '.' or '..', not starting with '-')
 * @param source        host directory
 * @param mountPoint    where the guest mounts it
 * @param readOnly      share read-only
 * @param socket        virtiofs: the virtiofsd socket (default NAME-virtiofs-TAG.sock); must be null for 9p
 * @param securityModel 9p security model: passthrough, none, mapped, mapped-file (default none)
 * @param cache         virtiofs caching policy: auto, always, metadata, never (default auto; virtiofsd --cache)
 * @param posixAcl      virtiofs: virtiofsd --posix-acl --xattr (microvm.nix's default is true, a spec without the
 *                      field gets false)
 * @param extraArgs     virtiofs: extra virtiofsd arguments for this share
 */
public record Share(Proto proto, String tag, String source, String mountPoint, boolean readOnly, String socket,
                    String securityModel, String cache, boolean posixAcl, List<String> extraArgs) {
    public static final List<String> SECURITY_MODELS = List.of("passthrough", "none", "mapped", "mapped-file");
    public static final List<String> CACHE_MODES = List.of("auto", "always", "metadata", "never");
    /** virtio-fs tags are at most 36 bytes; we apply the same limit to 9p. */
    public static final int TAG_MAX = 36;

    public enum Proto {
        NINE_P("9p"), VIRTIOFS("virtiofs");

        private final String id;

        Proto(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        @Override
        public String toString() {
            return id;
        }

        static Proto of(String v, String field) {
            return DidYouMean.oneOf(values(), Proto::id, v, field);
        }
    }

    public Share {
        if (proto == null) {
            proto = Proto.NINE_P;
        }
        Check.fileName("tag", tag, TAG_MAX, "tag");
        if (tag.indexOf(',') >= 0) {
            throw new SpecError("tag", "must not contain ',' (got '" + tag + "')");
        }
        Check.path("source", source);
        Check.guestPath("mountPoint", mountPoint);
        if (securityModel == null) {
            securityModel = "none";
        }
        Check.oneOf("securityModel", securityModel, SECURITY_MODELS);
        if (cache == null) {
            cache = "auto";
        }
        Check.oneOf("cache", cache, CACHE_MODES);
        extraArgs = Check.strings("extraArgs", extraArgs);
        if (proto != Proto.VIRTIOFS) {
            if (!cache.equals("auto")) {
                throw new SpecError("cache", "is the virtiofs caching policy; this share's proto is 9p (leave it auto)");
            }
            if (!extraArgs.isEmpty()) {
                throw new SpecError("extraArgs", "are virtiofsd arguments; this share's proto is 9p");
            }
        }
        if (socket != null) {
            Check.path("socket", socket);
            if (proto != Proto.VIRTIOFS) {
                throw new SpecError("socket", "is only used by virtiofs shares (this share's proto is 9p)");
            }
        }
    }

    Share withSocket(String s) {
        return new Share(proto, tag, source, mountPoint, readOnly, s, securityModel, cache, posixAcl, extraArgs);
    }
}
