package dev.microforge.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Boots a real Debian guest kernel (6.1 by {@link #builder()}, another series by {@link #builder(Kernel)}) under
 * {@code qemu-system-x86_64 -accel tcg} with a busybox initramfs built here, runs a test's shell script inside,
 * and returns what it printed.
 *
 * <pre>{@code
 * Guest.Report r = Guest.builder()
 *         .modules("squashfs")
 *         .disk(image, "store", true)             // -> /dev/vda and /dev/disk/by-id/virtio-store
 *         .script("mount -t squashfs -o ro /dev/disk/by-id/virtio-store /mnt\n"
 *                 + "treehash /mnt store\n")       // shell functions from the prologue, see below
 *         .boot()
 *         .check();                                  // guest script exit status 0, or an error with the console
 * TreeHash.Manifest m = TreeHash.fromGuest(r, "store");
 * }</pre>
 *
 * <p>Inside the guest: busybox (static) at {@code /bin/busybox} with its applets installed as symlinks in
 * {@code /bin}; {@code /proc}, {@code /sys}, {@code /dev} (devtmpfs) mounted; the requested modules and their
 * dependencies loaded with {@code insmod} (built-in ones skipped); {@code /dev/disk/by-id/virtio-<serial>}
 * links made for every virtio disk (there is no udev); with {@link Builder#userNet} eth0 configured
 * statically as 10.0.2.15/24, gateway 10.0.2.2 (QEMU's user network). The test script runs as {@code sh -e
 * /test.sh} with its stdout going to a second serial port (ttyS1, raw) that the host captures separately from
 * the kernel console (ttyS0): the report never interleaves with kernel messages. Its stderr goes to the
 * console. Prologue functions for the script: {@code begin NAME} / {@code end NAME} delimit a section of the
 * report ({@link Report#section}); {@code treehash DIR NAME} prints the raw data {@link TreeHash#fromGuest}
 * turns into a manifest. After the script the guest prints its exit status and powers off ({@code poweroff
 * -f}); the host waits for QEMU to exit (with a timeout) and fails with the console tail when anything went
 * wrong.
 *
 * <p>Boot cost: about 2.5 s of guest time to the script under TCG, about 4 s of wall time per boot on an idle
 * machine. Put several images on several disks of ONE boot rather than booting per image.
 */
public final class Guest {
    /** Marker lines in the report channel. */
    static final String BEGIN = "@@BEGIN ";
    static final String END = "@@END ";
    static final String EXIT = "@@EXIT ";
    static final String UPTIME = "@@UPTIME ";

    private static final Pattern SERIAL = Pattern.compile("[A-Za-z0-9._-]{1,20}");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9._-]{1,36}");

    private Guest() {}

    /** A boot builder for the installed 6.1 kernel (fails in strict mode, skips elsewhere, when kernel or QEMU are missing: {@link Tools#unavailable}). */
    public static Builder builder() {
        return builder(Kernel.require());
    }

    /** A boot builder for a given kernel (e.g. 6.12: {@code Kernel.require(Kernel.Series.LTS_6_12)}, or one with 9p). */
    public static Builder builder(Kernel kernel) {
        return new Builder(kernel, Tools.require("qemu-system-x86_64"), busybox());
    }

    /** The static busybox to put in the initramfs: {@code microforge.busybox} or /bin/busybox (busybox-static). */
    static Path busybox() {
        String override = System.getProperty("microforge.busybox");
        Path p = override != null && !override.isEmpty() ? Path.of(override) : Tools.find("busybox");
        if (p == null || !isStaticElf(p)) {
            String msg = "need a statically linked busybox (package busybox-static) for the guest initramfs; found "
                    + (p == null ? "none" : p + (java.nio.file.Files.isRegularFile(p) ? " (dynamically linked)" : " (no such file)"));
            throw Tools.unavailable(msg);
        }
        return p;
    }

    /** An ELF64 executable without a PT_INTERP program header. */
    static boolean isStaticElf(Path p) {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            byte[] hdr = new byte[64];
            f.readFully(hdr);
            if (hdr[0] != 0x7f || hdr[1] != 'E' || hdr[2] != 'L' || hdr[3] != 'F' || hdr[4] != 2) {
                return false;
            }
            ByteBuffer b = ByteBuffer.wrap(hdr).order(ByteOrder.LITTLE_ENDIAN);
            long phoff = b.getLong(32);
            int phentsize = b.getShort(54) & 0xffff;
            int phnum = b.getShort(56) & 0xffff;
            byte[] ph = new byte[phentsize];
            for (int i = 0; i < phnum; i++) {
                f.seek(phoff + (long) i * phentsize);
                f.readFully(ph);
                if (ByteBuffer.wrap(ph).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == 3) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A virtio-blk disk: the raw image file, its serial (at most 20 bytes), read-only or not. */
    public record Disk(Path image, String serial, boolean readOnly) {
        public Disk {
            if (!SERIAL.matcher(serial).matches()) {
                throw new IllegalArgumentException("disk serial must be 1-20 of [A-Za-z0-9._-]: '" + serial + "'");
            }
        }
    }

    public static final class Builder {
        private final Kernel kernel;
        private final Path qemu;
        private final Path busybox;
        private final List<String> modules = new ArrayList<>();
        private final List<Disk> disks = new ArrayList<>();
        private final List<String> qemuArgs = new ArrayList<>();
        private final List<String> kernelArgs = new ArrayList<>();
        private final Map<String, byte[]> files = new LinkedHashMap<>();
        private String script = "";
        private int memoryMiB = 512;
        private int cpus = 1;
        private boolean sharedMemory;
        private boolean net;
        private Duration timeout = Duration.ofSeconds(180);
        private Path workDir;

        private Builder(Kernel kernel, Path qemu, Path busybox) {
            this.kernel = kernel;
            this.qemu = qemu;
            this.busybox = busybox;
        }

        public Kernel kernel() {
            return kernel;
        }

        /** Kernel modules to load (dependencies are added; built-in ones are skipped). */
        public Builder modules(String... names) {
            for (String n : names) {
                if (!modules.contains(n)) {
                    modules.add(n);
                }
            }
            return this;
        }

        /** Adds a virtio-blk disk; the n-th disk is /dev/vd(a+n), and /dev/disk/by-id/virtio-SERIAL. */
        public Builder disk(Path image, String serial, boolean readOnly) {
            disks.add(new Disk(image.toAbsolutePath(), serial, readOnly));
            return modules("virtio_pci", "virtio_blk");
        }

        /** A read-only disk. */
        public Builder disk(Path image, String serial) {
            return disk(image, serial, true);
        }

        /**
         * A virtiofs share served by a virtiofsd the caller started on {@code socket}; the guest mounts it
         * with {@code mount -t virtiofs TAG DIR}. Switches guest RAM to a shared memfd backend.
         */
        public Builder virtiofs(Path socket, String tag) {
            checkTag(tag);
            int n = (int) qemuArgs.stream().filter(a -> a.startsWith("socket,id=vfs")).count();
            sharedMemory = true;
            qemuArgs.addAll(List.of("-chardev", "socket,id=vfs" + n + ",path=" + qemuEscape(socket.toAbsolutePath().toString()),
                    "-device", "vhost-user-fs-pci,chardev=vfs" + n + ",tag=" + tag));
            return modules("virtio_pci", "virtiofs");
        }

        /**
         * A 9p share of a host directory ({@code mount -t 9p -o trans=virtio,version=9p2000.L TAG DIR}).
         * Debian's cloud kernel is built without 9p ({@code # CONFIG_NET_9P is not set}): on it this fails
         * with a message saying so; check {@code kernel().has("9p")} first.
         */
        public Builder share9p(Path dir, String tag, boolean readOnly) {
            checkTag(tag);
            if (!kernel.has("9p") || !kernel.has("9pnet_virtio")) {
                throw new IllegalStateException("kernel " + kernel.version() + " has no 9p support (CONFIG_NET_9P is not set"
                        + " in " + kernel.vmlinuz() + "'s config): a 9p share cannot be mounted in this guest");
            }
            int n = (int) qemuArgs.stream().filter(a -> a.startsWith("local,id=p9")).count();
            qemuArgs.addAll(List.of("-fsdev", "local,id=p9" + n + ",path=" + qemuEscape(dir.toAbsolutePath().toString())
                    + ",security_model=none" + (readOnly ? ",readonly=on" : ""),
                    "-device", "virtio-9p-pci,fsdev=p9" + n + ",mount_tag=" + tag));
            return modules("virtio_pci", "9p", "9pnet_virtio");
        }

        /**
         * QEMU user networking on a virtio-net NIC with host port forwards such as {@code
         * "tcp:127.0.0.1:18080-:80"}; the guest's eth0 is configured as 10.0.2.15/24 via 10.0.2.2.
         */
        public Builder userNet(String... hostfwd) {
            if (net) {
                throw new IllegalStateException("userNet already configured");
            }
            net = true;
            StringBuilder nd = new StringBuilder("user,id=n0");
            for (String f : hostfwd) {
                nd.append(",hostfwd=").append(qemuEscape(f));
            }
            qemuArgs.addAll(List.of("-netdev", nd.toString(), "-device", "virtio-net-pci,netdev=n0"));
            return modules("virtio_pci", "virtio_net");
        }

        /** Extra QEMU arguments, passed as they are. */
        public Builder qemuArgs(String... args) {
            qemuArgs.addAll(List.of(args));
            return this;
        }

        /** Extra kernel command-line words. */
        public Builder kernelArgs(String... args) {
            kernelArgs.addAll(List.of(args));
            return this;
        }

        /** An extra file in the initramfs (absolute guest path). */
        public Builder file(String guestPath, byte[] content) {
            files.put(guestPath, content.clone());
            return this;
        }

        /** The test script (POSIX sh for busybox; runs with {@code -e}; stdout is the report). */
        public Builder script(String script) {
            this.script = script;
            return this;
        }

        public Builder memory(int mib) {
            this.memoryMiB = mib;
            return this;
        }

        public Builder cpus(int n) {
            this.cpus = n;
            return this;
        }

        public Builder timeout(Duration t) {
            this.timeout = t;
            return this;
        }

        /** Where the initramfs, console log and report go (default: a fresh temp dir, deleted on success). */
        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** The QEMU command line for the given paths (for tests of the harness itself and for diagnostics). */
        List<String> command(Path initrd, Path console, Path report) {
            List<String> cmd = new ArrayList<>(List.of(qemu.toString(), "-accel", "tcg", "-nodefaults", "-no-user-config",
                    "-display", "none", "-no-reboot", "-m", Integer.toString(memoryMiB), "-smp", Integer.toString(cpus),
                    "-kernel", kernel.qemuKernel().toString(), "-initrd", initrd.toString(),
                    "-append", String.join(" ", appendLine()),
                    "-serial", "file:" + console, "-serial", "file:" + report));
            if (sharedMemory) {
                cmd.addAll(List.of("-object", "memory-backend-memfd,id=mem,size=" + memoryMiB + "M,share=on",
                        "-numa", "node,memdev=mem"));
            }
            for (int i = 0; i < disks.size(); i++) {
                Disk d = disks.get(i);
                cmd.addAll(List.of("-drive", "file=" + qemuEscape(d.image().toString()) + ",if=none,id=d" + i
                        + ",format=raw,cache=unsafe" + (d.readOnly() ? ",readonly=on" : ""),
                        "-device", "virtio-blk-pci,drive=d" + i + ",serial=" + d.serial()));
            }
            cmd.addAll(qemuArgs);
            return cmd;
        }

        private List<String> appendLine() {
            List<String> a = new ArrayList<>(List.of("console=ttyS0", "panic=-1", "quiet", "loglevel=4", "rdinit=/init"));
            a.addAll(kernelArgs);
            return a;
        }

        /** The initramfs this boot uses. */
        Initramfs initramfs() throws IOException {
            List<String> load = kernel.loadOrder(modules);
            Initramfs ir = new Initramfs();
            for (String d : List.of("bin", "dev", "proc", "sys", "tmp", "mnt", "run", "lib/modules")) {
                ir.dir(d, 0755);
            }
            ir.charDevice("dev/console", 0600, 5, 1);
            ir.copy("bin/busybox", busybox, 0755);
            ir.symlink("bin/sh", "busybox");
            for (String m : load) {
                ir.file("lib/modules/" + m + ".ko", kernel.moduleBytes(m), 0644);
            }
            ir.file("init", initScript(load), 0755);
            ir.file("lib/testkit.sh", TreeHash.GUEST_FUNCTIONS + PROLOGUE_FUNCTIONS, 0644);
            ir.file("test.sh", script, 0644);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                ir.file(f.getKey(), f.getValue(), 0755);
            }
            return ir;
        }

        private String initScript(List<String> load) {
            StringBuilder s = new StringBuilder();
            s.append("#!/bin/busybox sh\n");
            s.append("/bin/busybox --install -s /bin\n");
            s.append("export PATH=/bin HOME=/ TERM=dumb\n");
            s.append("mount -t proc proc /proc\nmount -t sysfs sysfs /sys\nmount -t devtmpfs devtmpfs /dev\n");
            s.append("mount -t tmpfs tmpfs /tmp\n");
            s.append("stty -F /dev/ttyS1 raw -echo\n");
            s.append("fail() { echo \"@@GUEST-FAILURE $*\" > /dev/console; echo '" + EXIT + "97' > /dev/ttyS1; poweroff -f; }\n");
            for (String m : load) {
                s.append("insmod /lib/modules/").append(m).append(".ko || fail insmod ").append(m).append('\n');
            }
            s.append("mkdir -p /dev/disk/by-id\n");
            s.append("for b in /sys/block/vd*; do [ -e \"$b/serial\" ] || continue; s=$(cat \"$b/serial\");"
                    + " [ -n \"$s\" ] && ln -sf \"../../${b##*/}\" \"/dev/disk/by-id/virtio-$s\"; done\n");
            s.append("ip link set lo up 2>/dev/null\n");
            if (net) {
                s.append("ip link set eth0 up || fail eth0\nip addr add 10.0.2.15/24 dev eth0\n"
                        + "ip route add default via 10.0.2.2\n");
            }
            s.append("cd /\n");
            s.append("read -r t0 rest < /proc/uptime\n");
            s.append("( sh -e -c '. /lib/testkit.sh; . /test.sh' ) > /dev/ttyS1 2> /dev/console\n");
            s.append("rc=$?\n");
            s.append("sync\n");
            s.append("read -r t1 rest < /proc/uptime\n");
            s.append("echo \"" + UPTIME + "$t0 $t1\" > /dev/ttyS1\n");
            s.append("echo \"" + EXIT + "$rc\" > /dev/ttyS1\n");
            s.append("poweroff -f\n");
            return s.toString();
        }

        /** Boots, waits for power-off, and returns the report (not yet checked: call {@link Report#check()}). */
        public Report boot() throws IOException, InterruptedException {
            for (Disk d : disks) {
                if (!Files.isRegularFile(d.image()) && !Files.exists(d.image())) {
                    throw new IllegalArgumentException("disk image missing: " + d.image());
                }
            }
            boolean tempDir = workDir == null;
            Path dir = tempDir ? Files.createTempDirectory("microforge-guest") : Files.createDirectories(workDir);
            Path initrd = initramfs().writeGzip(dir.resolve("initrd.cpio.gz"));
            Path console = dir.resolve("console.log");
            Path report = dir.resolve("report.bin");
            Path qemuLog = dir.resolve("qemu.log");
            Files.deleteIfExists(console);
            Files.deleteIfExists(report);
            List<String> cmd = command(initrd, console, report);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(qemuLog.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            long t0 = System.nanoTime();
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor();
                }
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            String qemuOut = Files.exists(qemuLog) ? Files.readString(qemuLog, StandardCharsets.ISO_8859_1) : "";
            String con = Files.exists(console) ? Files.readString(console, StandardCharsets.ISO_8859_1) : "";
            byte[] rep = Files.exists(report) ? Files.readAllBytes(report) : new byte[0];
            Report r = Report.parse(rep, con, qemuOut, done ? p.exitValue() : -1, !done, elapsed, String.join(" ", cmd), dir);
            if (tempDir && r.ok()) {
                deleteTree(dir);
            }
            return r;
        }
    }

    private static final String PROLOGUE_FUNCTIONS = ""
            + "begin() { echo '" + BEGIN + "'\"$1\"; }\n"
            + "end() { echo '" + END + "'\"$1\"; }\n";

    private static void checkTag(String tag) {
        if (!TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("share tag must be 1-36 of [A-Za-z0-9._-]: '" + tag + "'");
        }
    }

    /** QEMU option-value escaping: a comma is written twice. */
    public static String qemuEscape(String v) {
        return v.replace(",", ",,");
    }

    static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * What a boot produced: the raw report bytes (the script's stdout), its sections, the guest script's exit
     * status (-1 when the guest never reported one), the kernel console, QEMU's own output, wall time, and the
     * guest's uptime (seconds) when the script started and ended (-1 when not reported).
     */
    public record Report(byte[] output, Map<String, byte[]> sections, int exitStatus, String console, String qemuOutput,
            int qemuExit, boolean timedOut, Duration elapsed, String command, Path workDir, double scriptStart, double scriptEnd) {
        public Report {
            output = output.clone();
            sections = Map.copyOf(sections);
        }

        static Report parse(byte[] raw, String console, String qemuOut, int qemuExit, boolean timedOut, Duration elapsed,
                String command, Path workDir) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            Map<String, byte[]> sections = new LinkedHashMap<>();
            int status = -1;
            double[] uptimes = null;
            String open = null;
            ByteArrayOutputStream cur = null;
            int i = 0;
            while (i < raw.length) {
                int nl = i;
                while (nl < raw.length && raw[nl] != '\n') {
                    nl++;
                }
                byte[] line = Arrays.copyOfRange(raw, i, Math.min(nl + 1, raw.length));
                String s = new String(line, StandardCharsets.ISO_8859_1).stripTrailing();
                if (s.startsWith(UPTIME)) {
                    String[] f = s.substring(UPTIME.length()).trim().split(" ");
                    try {
                        uptimes = new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1])};
                    } catch (RuntimeException e) {
                        uptimes = null;
                    }
                } else if (s.startsWith(EXIT)) {
                    try {
                        status = Integer.parseInt(s.substring(EXIT.length()).trim());
                    } catch (NumberFormatException e) {
                        status = -1;
                    }
                } else if (s.startsWith(BEGIN) && open == null) {
                    open = s.substring(BEGIN.length());
                    cur = new ByteArrayOutputStream();
                } else if (open != null && s.equals(END + open)) {
                    sections.put(open, cur.toByteArray());
                    open = null;
                    cur = null;
                } else {
                    if (cur != null) {
                        cur.writeBytes(line);
                    }
                    body.writeBytes(line);
                }
                i = nl + 1;
            }
            return new Report(body.toByteArray(), sections, status, console, qemuOut, qemuExit, timedOut, elapsed, command, workDir,
                    uptimes == null ? -1 : uptimes[0], uptimes == null ? -1 : uptimes[1]);
        }

        /** Where the time went: wall time, guest uptime when the script started and when it ended. */
        public String timing() {
            return String.format(java.util.Locale.ROOT, "%d ms wall; guest: boot to script %.2f s, script %.2f s", elapsed.toMillis(),
                    scriptStart, scriptEnd - scriptStart);
        }

        public boolean ok() {
            return !timedOut && qemuExit == 0 && exitStatus == 0;
        }

        /** The report text (UTF-8) without markers. */
        public String text() {
            return new String(output, StandardCharsets.UTF_8);
        }

        public List<String> lines() {
            String t = text();
            if (t.isEmpty()) {
                return List.of();
            }
            if (t.endsWith("\n")) {
                t = t.substring(0, t.length() - 1);
            }
            return List.of(t.split("\n", -1));
        }

        /** The bytes between {@code begin NAME} and {@code end NAME}; an error when the section is missing. */
        public byte[] section(String name) {
            byte[] b = sections.get(name);
            if (b == null) {
                throw new AssertionError("guest report has no section '" + name + "' (sections: " + sections.keySet() + ")\n" + diagnostics());
            }
            return b.clone();
        }

        public String sectionText(String name) {
            return new String(section(name), StandardCharsets.UTF_8);
        }

        /** Requires a clean run: QEMU exited 0 in time and the script exited 0; else an error with the console. */
        public Report check() {
            if (!ok()) {
                String why = timedOut ? "guest timed out after " + elapsed.toSeconds() + " s"
                        : exitStatus == -1 ? "guest never reported an exit status (crash, panic or early power-off?)"
                        : qemuExit != 0 ? "qemu exited with " + qemuExit
                        : "guest script exited with " + exitStatus;
                throw new AssertionError(why + "\n" + diagnostics());
            }
            return this;
        }

        public String diagnostics() {
            String con = console.length() > 6000 ? "..." + console.substring(console.length() - 6000) : console;
            String out = text();
            out = out.length() > 3000 ? "..." + out.substring(out.length() - 3000) : out;
            return "command: " + command + "\nwork dir: " + workDir + "\n--- console (tail) ---\n" + con
                    + "\n--- report (tail) ---\n" + out + "\n--- qemu ---\n" + qemuOutput;
        }
    }
}
