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
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * A guest kernel for boot tests: a Debian cloud kernel of one LTS series, found as {@code
 * /boot/vmlinuz-<series>.*-cloud-amd64} with its modules under {@code /lib/modules/<version>}. {@link #require()}
 * is the 6.1 kernel ({@code linux-image-cloud-amd64}) most tests boot; {@link #require(Series)} takes another
 * series, e.g. {@link Series#LTS_6_12} ({@code linux-image-6.12.117+deb12-cloud-amd64}: EROFS zstd, deflate and
 * lzma). Override the 6.1 kernel with the system property {@code microforge.kernel} (a vmlinuz path; modules
 * from {@code microforge.kernel.modules}, default {@code /lib/modules/<version from the file name>}).
 *
 * <p>Module dependencies come from {@code modules.dep}; names are normalized ({@code -} = {@code _}) as
 * modprobe does; modules listed in {@code modules.builtin} need no loading. Compressed modules ({@code
 * .ko.xz}, {@code .ko.zst}, {@code .ko.gz}) are decompressed on the host, so busybox {@code insmod} always
 * gets a plain ELF object (Debian 12's 6.1 ships them uncompressed, {@code CONFIG_MODULE_COMPRESS_NONE=y};
 * its 6.12 backport ships {@code .ko.xz}, {@code CONFIG_MODULE_COMPRESS_XZ=y}).
 */
public final class Kernel {
    private final Path vmlinuz;
    private final Path modulesDir;
    private final String version;
    private final Map<String, String> modulePaths = new HashMap<>();
    private final Map<String, List<String>> deps = new HashMap<>();
    private final Set<String> builtin = new HashSet<>();

    /**
     * A Debian kernel series the tests boot: the version prefix of {@code /boot/vmlinuz-<prefix>.*-cloud-amd64}
     * and the Debian package that installs it (named in the failure when it is missing).
     */
    public record Series(String prefix, String debianPackage) {
        /** Debian 12's own kernel: what every boot test uses unless it needs something newer. */
        public static final Series LTS_6_1 = new Series("6.1", "linux-image-cloud-amd64");
        /** The bookworm backport of 6.12 (NixOS' default kernel series): EROFS zstd, deflate and lzma. */
        public static final Series LTS_6_12 = new Series("6.12", "linux-image-6.12.117+deb12-cloud-amd64");

        public Series {
            if (!prefix.matches("[0-9]+\\.[0-9]+")) {
                throw new IllegalArgumentException("kernel series must be MAJOR.MINOR: '" + prefix + "'");
            }
        }

        /** Whether a {@code /boot} file name is a vmlinuz of this series and flavour ({@code 6.1} never matches 6.12). */
        boolean matches(String fileName, String flavourRegex) {
            return fileName.matches("vmlinuz-" + Pattern.quote(prefix) + "\\..*-" + flavourRegex);
        }
    }

    private static final Map<Series, Kernel> found = new HashMap<>();

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

    /** The installed 6.1 guest kernel; fails in strict mode and skips elsewhere when there is none. */
    public static Kernel require() {
        return require(Series.LTS_6_1);
    }

    /**
     * The installed cloud kernel of {@code series} (the newest build of it when several are installed); fails
     * in strict mode and skips elsewhere when there is none, naming the package to install.
     */
    public static synchronized Kernel require(Series series) {
        Kernel cached = found.get(series);
        if (cached != null) {
            return cached;
        }
        String msg;
        try {
            Kernel k = locate(series);
            if (k != null) {
                found.put(series, k);
                return k;
            }
            msg = "no Debian " + series.prefix() + " cloud kernel: expected /boot/vmlinuz-" + series.prefix()
                    + ".*-cloud-amd64 and /lib/modules/<version>/modules.dep (install " + series.debianPackage()
                    + " with tests/install-deps.sh)";
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
                    s.filter(p -> Series.LTS_6_1.matches(p.getFileName().toString(), "(cloud-)?amd64"))
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

    private static Kernel locate(Series series) throws IOException {
        String override = series.equals(Series.LTS_6_1) ? System.getProperty("microforge.kernel") : null;
        Path vmlinuz = null;
        if (override != null && !override.isEmpty()) {
            vmlinuz = Path.of(override);
        } else if (Files.isDirectory(Path.of("/boot"))) {
            try (Stream<Path> s = Files.list(Path.of("/boot"))) {
                vmlinuz = s.filter(p -> series.matches(p.getFileName().toString(), "cloud-amd64"))
                        .max(Comparator.comparing(p -> p.getFileName().toString())).orElse(null);
            }
        }
        if (vmlinuz == null || !Files.isReadable(vmlinuz)) {
            return null;
        }
        String version = vmlinuz.getFileName().toString().replaceFirst("^vmlinuz-", "");
        String md = override != null ? System.getProperty("microforge.kernel.modules") : null;
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

    /**
     * The value of a build option in this kernel's {@code /boot/config-<version>} (next to the vmlinuz): {@code
     * "y"}, {@code "m"}, a number or string as written, or {@code null} when it is not set. {@code option} is
     * given without the {@code CONFIG_} prefix. A kernel without a readable config file is an error naming it.
     */
    public String config(String option) {
        Map<String, String> c = configMap();
        return c.get(option.startsWith("CONFIG_") ? option.substring(7) : option);
    }

    private Map<String, String> config;

    private synchronized Map<String, String> configMap() {
        if (config == null) {
            Path file = vmlinuz.resolveSibling("config-" + version);
            Map<String, String> m = new HashMap<>();
            try {
                for (String line : Files.readAllLines(file)) {
                    int eq = line.indexOf('=');
                    if (line.startsWith("CONFIG_") && eq > 0) {
                        m.put(line.substring(7, eq), line.substring(eq + 1));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read kernel config " + file, e);
            }
            config = Map.copyOf(m);
        }
        return config;
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
     * The file for QEMU's {@code -kernel}. A bzImage whose payload is XZ (Debian's generic 6.1) or zstd (the 6.12
     * cloud kernel) spends seconds decompressing itself under TCG (XZ: over 10 s; zstd: about 4.5 s); when the
     * kernel supports PVH boot ({@code CONFIG_PVH=y} in its config) the payload (located by the boot protocol
     * header's {@code payload_offset}/{@code payload_length}; its last 4 bytes are the ELF's size) is
     * decompressed on the host once (cached in java.io.tmpdir) and QEMU boots the ELF vmlinux directly. Any
     * other kernel (the 6.1 cloud one is LZ4: fast) or any failure: the vmlinuz itself.
     */
    public synchronized Path qemuKernel() {
        if (qemuKernel != null) {
            return qemuKernel;
        }
        qemuKernel = vmlinuz;
        try {
            Path configFile = vmlinuz.resolveSibling("config-" + version);
            if (!Files.isReadable(configFile) || !"y".equals(config("PVH"))) {
                return qemuKernel;
            }
            boolean xz = "y".equals(config("KERNEL_XZ"));
            boolean zstd = "y".equals(config("KERNEL_ZSTD"));
            if (!xz && !zstd) {
                return qemuKernel;
            }
            long size = Files.size(vmlinuz);
            long mtime = Files.getLastModifiedTime(vmlinuz).toMillis();
            Path cached = Path.of(System.getProperty("java.io.tmpdir"), "microforge-vmlinux-" + version + "-" + size + "-" + mtime);
            if (!Files.exists(cached)) {
                byte[] elf = payloadElf(Files.readAllBytes(vmlinuz), xz);
                if (elf == null) {
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

    /** The ELF vmlinux inside a bzImage (boot protocol 2.08+), or null when it is not one of the expected shape. */
    static byte[] payloadElf(byte[] bz, boolean xz) throws IOException {
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(bz).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (bz.length < 0x250 || h.getInt(0x202) != 0x53726448 || (h.getShort(0x206) & 0xffff) < 0x208) {
            return null;
        }
        int setupSects = bz[0x1f1] == 0 ? 4 : bz[0x1f1] & 0xff;
        long start = (setupSects + 1L) * 512 + (h.getInt(0x248) & 0xffffffffL);
        long length = h.getInt(0x24c) & 0xffffffffL;
        if (length < 8 || start + length > bz.length) {
            return null;
        }
        int from = (int) start;
        int len = (int) length;
        long elfSize = h.getInt(from + len - 4) & 0xffffffffL;
        if (elfSize > 512L << 20) {
            return null;
        }
        byte[] elf;
        if (xz) {
            try (InputStream in = new org.tukaani.xz.SingleXZInputStream(new java.io.ByteArrayInputStream(bz, from, len - 4))) {
                elf = in.readAllBytes();
            } catch (IOException e) {
                return null;
            }
        } else {
            try {
                elf = com.github.luben.zstd.Zstd.decompress(java.util.Arrays.copyOfRange(bz, from, from + len - 4), (int) elfSize);
            } catch (RuntimeException e) {
                return null;
            }
        }
        boolean isElf = elf.length == elfSize && elf.length >= 4 && elf[0] == 0x7f && elf[1] == 'E' && elf[2] == 'L' && elf[3] == 'F';
        return isElf ? elf : null;
    }
}
