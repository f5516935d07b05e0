package dev.microforge.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * The guest kernel for boot tests: Debian's 6.1 cloud kernel ({@code linux-image-cloud-amd64}), found as
 * {@code /boot/vmlinuz-6.1.*-cloud-amd64} with its modules under {@code /lib/modules/<version>}. Override
 * with the system property {@code microforge.kernel} (a vmlinuz path; modules from {@code
 * microforge.kernel.modules}, default {@code /lib/modules/<version from the file name>}).
 *
 * <p>Module dependencies come from {@code modules.dep}; names are normalized ({@code -} = {@code _}) as
 * modprobe does; modules listed in {@code modules.builtin} need no loading. Compressed modules ({@code
 * .ko.xz}, {@code .ko.zst}, {@code .ko.gz}) are decompressed on the host, so busybox {@code insmod} always
 * gets a plain ELF object (Debian 12 ships them uncompressed: {@code CONFIG_MODULE_COMPRESS_NONE=y}).
 */
public final class Kernel {
    private final Path vmlinuz;
    private final Path modulesDir;
    private final String version;
    private final Map<String, String> modulePaths = new HashMap<>();
    private final Map<String, List<String>> deps = new HashMap<>();
    private final Set<String> builtin = new HashSet<>();

    private static Kernel found;

    private Kernel(Path vmlinuz, Path modulesDir, String version) throws IOException {
        this.vmlinuz = vmlinuz;
        this.modulesDir = modulesDir;
        this.version = version;
        for (String line : Files.readAllLines(modulesDir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String path = line.substring(0, colon).trim();
            String name = moduleName(path);
            modulePaths.put(name, path);
            List<String> d = new ArrayList<>();
            for (String dep : line.substring(colon + 1).trim().split("\\s+")) {
                if (!dep.isEmpty()) {
                    d.add(moduleName(dep));
                }
            }
            deps.put(name, List.copyOf(d));
        }
        Path b = modulesDir.resolve("modules.builtin");
        if (Files.exists(b)) {
            for (String line : Files.readAllLines(b)) {
                if (!line.isBlank()) {
                    builtin.add(moduleName(line.trim()));
                }
            }
        }
    }

    /** The installed guest kernel; fails in strict mode and skips elsewhere when there is none. */
    public static synchronized Kernel require() {
        if (found != null) {
            return found;
        }
        String msg;
        try {
            Kernel k = locate();
            if (k != null) {
                found = k;
                return k;
            }
            msg = "no Debian 6.1 cloud kernel: expected /boot/vmlinuz-6.1.*-cloud-amd64 and /lib/modules/<version>/modules.dep"
                    + " (install linux-image-cloud-amd64 with tests/install-deps.sh)";
        } catch (IOException e) {
            msg = "cannot read the guest kernel: " + e;
        }
        throw Tools.unavailable(msg);
    }

    /**
     * An installed Debian 6.1 kernel (cloud or generic flavour) that has all the given modules (built in or as
     * modules): e.g. {@code requireWith("9p", "9pnet_virtio")} needs the generic {@code linux-image-amd64}, since the
     * cloud kernel is built without 9p. Fails in strict mode and skips elsewhere when none has them.
     */
    public static synchronized Kernel requireWith(String... modules) {
        String msg;
        try {
            List<Path> candidates = new ArrayList<>();
            if (Files.isDirectory(Path.of("/boot"))) {
                try (Stream<Path> s = Files.list(Path.of("/boot"))) {
                    s.filter(p -> p.getFileName().toString().matches("vmlinuz-6\\.1\\..*-(cloud-)?amd64"))
                            .sorted(Comparator.comparing(p -> p.getFileName().toString())).forEach(candidates::add);
                }
            }
            for (Path v : candidates) {
                String version = v.getFileName().toString().replaceFirst("^vmlinuz-", "");
                Path md = Path.of("/lib/modules", version);
                if (!Files.isReadable(v) || !Files.isReadable(md.resolve("modules.dep"))) {
                    continue;
                }
                Kernel k = new Kernel(v, md, version);
                boolean all = true;
                for (String m : modules) {
                    all &= k.has(m);
                }
                if (all) {
                    return k;
                }
            }
            msg = "no installed Debian 6.1 kernel has " + String.join(", ", modules) + " (the cloud kernel lacks 9p:"
                    + " install linux-image-amd64 with tests/install-deps.sh)";
        } catch (IOException e) {
            msg = "cannot read the guest kernels: " + e;
        }
        throw Tools.unavailable(msg);
    }

    private static Kernel locate() throws IOException {
        String override = System.getProperty("microforge.kernel");
        Path vmlinuz = null;
        if (override != null && !override.isEmpty()) {
            vmlinuz = Path.of(override);
        } else if (Files.isDirectory(Path.of("/boot"))) {
            try (Stream<Path> s = Files.list(Path.of("/boot"))) {
                vmlinuz = s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.startsWith("vmlinuz-6.1.") && n.endsWith("-cloud-amd64");
                }).max(Comparator.comparing(p -> p.getFileName().toString())).orElse(null);
            }
        }
        if (vmlinuz == null || !Files.isReadable(vmlinuz)) {
            return null;
        }
        String version = vmlinuz.getFileName().toString().replaceFirst("^vmlinuz-", "");
        String md = System.getProperty("microforge.kernel.modules");
        Path modulesDir = md != null && !md.isEmpty() ? Path.of(md) : Path.of("/lib/modules", version);
        if (!Files.isReadable(modulesDir.resolve("modules.dep"))) {
            return null;
        }
        return new Kernel(vmlinuz, modulesDir, version);
    }

    public Path vmlinuz() {
        return vmlinuz;
    }

    public String version() {
        return version;
    }

    public Path modulesDir() {
        return modulesDir;
    }

    /** Normalized module name of a path or name: {@code kernel/fs/fuse/virtiofs.ko.xz} -> {@code virtiofs}. */
    public static String moduleName(String pathOrName) {
        String n = pathOrName.substring(pathOrName.lastIndexOf('/') + 1);
        for (String ext : List.of(".ko.xz", ".ko.zst", ".ko.gz", ".ko")) {
            if (n.endsWith(ext)) {
                n = n.substring(0, n.length() - ext.length());
                break;
            }
        }
        return n.replace('-', '_');
    }

    public boolean isBuiltin(String module) {
        return builtin.contains(moduleName(module));
    }

    public boolean isModule(String module) {
        return modulePaths.containsKey(moduleName(module));
    }

    /** Whether this kernel can do {@code module} at all (built in, or as a loadable module). */
    public boolean has(String module) {
        return isBuiltin(module) || isModule(module);
    }

    /**
     * The loadable modules to insmod, dependencies first, for the given modules; built-in ones are dropped.
     * A module this kernel has neither built in nor as a module is an error naming it.
     */
    public List<String> loadOrder(List<String> modules) {
        LinkedHashSet<String> order = new LinkedHashSet<>();
        for (String m : modules) {
            visit(moduleName(m), order, new HashSet<>());
        }
        return List.copyOf(order);
    }

    private void visit(String m, LinkedHashSet<String> order, Set<String> stack) {
        if (order.contains(m) || builtin.contains(m)) {
            return;
        }
        if (!modulePaths.containsKey(m)) {
            throw new IllegalArgumentException("kernel " + version + " has no module or built-in '" + m + "' (not in "
                    + modulesDir.resolve("modules.dep") + " nor modules.builtin)");
        }
        if (!stack.add(m)) {
            throw new IllegalStateException("module dependency cycle at " + m);
        }
        for (String d : deps.get(m)) {
            visit(d, order, stack);
        }
        stack.remove(m);
        order.add(m);
    }

    /** The plain (decompressed) ELF bytes of a loadable module. */
    public byte[] moduleBytes(String module) {
        String m = moduleName(module);
        String rel = modulePaths.get(m);
        if (rel == null) {
            throw new IllegalArgumentException("kernel " + version + " has no loadable module '" + m + "'");
        }
        Path p = modulesDir.resolve(rel);
        try (InputStream raw = Files.newInputStream(p)) {
            InputStream in = raw;
            if (rel.endsWith(".xz")) {
                in = new XZInputStream(raw);
            } else if (rel.endsWith(".zst")) {
                in = new com.github.luben.zstd.ZstdInputStream(raw);
            } else if (rel.endsWith(".gz")) {
                in = new GzipCompressorInputStream(raw);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read module " + p, e);
        }
    }

    /** A kernel at explicit paths (tests of the harness; a fake modules tree works). */
    static Kernel at(Path vmlinuz, Path modulesDir, String version) throws IOException {
        return new Kernel(vmlinuz, modulesDir, version);
    }

    private Path qemuKernel;

    /**
     * The file for QEMU's {@code -kernel}. An XZ-compressed bzImage (Debian's generic kernel) takes long to
     * decompress itself under TCG (over 10 s); when the kernel supports PVH boot ({@code CONFIG_PVH=y} in its
     * config) the payload is decompressed on the host once (cached in java.io.tmpdir) and QEMU boots the ELF
     * vmlinux directly. Any other kernel (the cloud one is LZ4: fast) or any failure: the vmlinuz itself.
     */
    public synchronized Path qemuKernel() {
        if (qemuKernel != null) {
            return qemuKernel;
        }
        qemuKernel = vmlinuz;
        try {
            Path config = vmlinuz.resolveSibling("config-" + version);
            if (!Files.isReadable(config) || !Files.readString(config).contains("\nCONFIG_PVH=y\n")
                    || !Files.readString(config).contains("\nCONFIG_KERNEL_XZ=y\n")) {
                return qemuKernel;
            }
            long size = Files.size(vmlinuz);
            long mtime = Files.getLastModifiedTime(vmlinuz).toMillis();
            Path cached = Path.of(System.getProperty("java.io.tmpdir"), "microforge-vmlinux-" + version + "-" + size + "-" + mtime);
            if (!Files.exists(cached)) {
                byte[] bz = Files.readAllBytes(vmlinuz);
                byte[] magic = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
                int at = -1;
                for (int i = 0; i + magic.length <= bz.length && at < 0; i++) {
                    if (java.util.Arrays.equals(bz, i, i + magic.length, magic, 0, magic.length)) {
                        at = i;
                    }
                }
                if (at < 0) {
                    return qemuKernel;
                }
                byte[] elf;
                try (InputStream in = new org.tukaani.xz.SingleXZInputStream(new java.io.ByteArrayInputStream(bz, at, bz.length - at))) {
                    elf = in.readAllBytes();
                } catch (IOException e) {
                    // not one well-formed XZ stream: let the kernel decompress itself
                    return qemuKernel;
                }
                if (elf.length < 4 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F') {
                    return qemuKernel;
                }
                Path tmp = Files.createTempFile(cached.getParent(), "microforge-vmlinux", ".part");
                Files.write(tmp, elf);
                Files.move(tmp, cached, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            qemuKernel = cached;
        } catch (IOException | RuntimeException e) {
            qemuKernel = vmlinuz;
        }
        return qemuKernel;
    }
}
