package dev.microforge.host;

import dev.microforge.util.UserError;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of the virtiofsd serving one share, run as root (the units' virtiofsd): the same options, in the
 * same order, as the runner's {@code microvm_virtiofsd} shell function gives it as root, for the two virtiofsd
 * command-line styles.
 * <ul>
 * <li>{@code rust} (virtiofsd 1.x): {@code --socket-path= --shared-dir= --cache= --sandbox=chroot [--posix-acl
 * --xattr] [--readonly] [--inode-file-handles=]}.</li>
 * <li>{@code c} (QEMU's C virtiofsd up to qemu 7.2): {@code --socket-path= -o source= -o cache= -o sandbox=chroot
 * [-o posix_acl -o xattr]}, the source escaped for the FUSE {@code -o} list ({@code \} and {@code ,}), cache
 * {@code never} as {@code none}. It has no read-only mode, no {@code metadata} cache and no inode file handles:
 * such a share is refused, naming the spec field.</li>
 * </ul>
 * Then, for both: {@code --thread-pool-size=}, {@code --socket-group=}, {@code virtiofsd.extraArgs}, the share's
 * {@code extraArgs}.
 */
public final class VirtiofsdArgs {
    private VirtiofsdArgs() {}

    /**
     * @param style  "c" or "rust"
     * @param field  the share's spec field ("shares[2]"), for errors
     * @param socket the socket path as virtiofsd gets it
     * @param source the shared directory as virtiofsd gets it
     */
    public static List<String> of(String style, String field, String socket, String source, Share s, VmSpec.Virtiofsd d) {
        List<String> args = new ArrayList<>();
        args.add("--socket-path=" + socket);
        if (style.equals("rust")) {
            args.addAll(List.of("--shared-dir=" + source, "--cache=" + s.cache(), "--sandbox=chroot"));
            if (s.posixAcl()) {
                args.addAll(List.of("--posix-acl", "--xattr"));
            }
            if (s.readOnly()) {
                args.add("--readonly");
            }
            if (d.inodeFileHandles() != null) {
                args.add("--inode-file-handles=" + d.inodeFileHandles());
            }
        } else if (style.equals("c")) {
            if (s.readOnly()) {
                throw new UserError(field + ".readOnly: QEMU's C virtiofsd has no read-only mode; use the Rust virtiofsd"
                        + " (--virtiofsd-style rust) or a writable share");
            }
            if (s.cache().equals("metadata")) {
                throw new UserError(field + ".cache: 'metadata' needs the Rust virtiofsd (--virtiofsd-style rust)");
            }
            if (d.inodeFileHandles() != null) {
                throw new UserError("virtiofsd.inodeFileHandles: needs the Rust virtiofsd (--virtiofsd-style rust)");
            }
            String opt = source.replace("\\", "\\\\").replace(",", "\\,");
            String cache = s.cache().equals("never") ? "none" : s.cache();
            args.addAll(List.of("-o", "source=" + opt, "-o", "cache=" + cache, "-o", "sandbox=chroot"));
            if (s.posixAcl()) {
                args.addAll(List.of("-o", "posix_acl", "-o", "xattr"));
            }
        } else {
            throw new IllegalArgumentException("virtiofsd style " + style);
        }
        if (d.threadPoolSize() != null) {
            args.add("--thread-pool-size=" + d.threadPoolSize());
        }
        if (d.group() != null) {
            args.add("--socket-group=" + d.group());
        }
        args.addAll(d.extraArgs());
        args.addAll(s.extraArgs());
        return args;
    }
}
