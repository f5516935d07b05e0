package dev.microforge.runner;

import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the host for a VM before it starts. Each finding is one line: what, why, and the fix. Stale control sockets
 * (nothing listening) are removed, and reported as fixed. Everything is looked up under {@link Host#root()}, so tests
 * run it against a fake /dev, /sys, /etc and /proc.
 */
public final class Preflight {
    public enum Severity { ERROR, WARNING, FIXED }

    /** One finding. */
    public record Finding(Severity severity, String what, String why, String fix) {
        public String line() {
            String s = switch (severity) {
                case ERROR -> "error";
                case WARNING -> "warning";
                case FIXED -> "fixed";
            };
            return s + ": " + what + ": " + why + (fix == null || fix.isEmpty() ? "" : "; fix: " + fix);
        }
    }

    /** The bridge helper's default location on Debian (qemu-system-common). */
    public static final String BRIDGE_HELPER = QemuGenerator.BRIDGE_HELPER;
    public static final String BRIDGE_CONF = "/etc/qemu/bridge.conf";

    private final VmSpec spec;
    private final Accel accel;
    private final Host host;
    private final List<Finding> findings = new ArrayList<>();

    private Preflight(VmSpec spec, Accel accel, Host host) {
        this.spec = spec;
        this.accel = accel;
        this.host = host;
    }

    public static List<Finding> run(VmSpec spec, Accel accel, Host host) {
        Preflight p = new Preflight(spec, accel, host);
        p.kvm();
        p.files();
        p.volumes();
        p.shares();
        p.interfaces();
        p.sockets();
        return List.copyOf(p.findings);
    }

    private void error(String what, String why, String fix) {
        findings.add(new Finding(Severity.ERROR, what, why, fix));
    }

    private void warn(String what, String why, String fix) {
        findings.add(new Finding(Severity.WARNING, what, why, fix));
    }

    // ---- KVM

    private void kvm() {
        boolean qemu = spec.hypervisor() == Hypervisor.QEMU;
        if (qemu && accel == Accel.TCG) {
            return;
        }
        String problem = null;
        String fix = null;
        Path kvm = host.resolve("/dev/kvm");
        if (!Files.exists(kvm)) {
            problem = "/dev/kvm does not exist";
            fix = "enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd (modprobe kvm_intel)";
        } else if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            problem = "/dev/kvm is not readable and writable by " + host.userName();
            fix = "add " + host.userName() + " to the group of /dev/kvm (usually kvm): usermod -aG " + groupOf(kvm, "kvm") + " " + host.userName();
        } else if (!Files.exists(host.resolve("/sys/module/kvm_intel")) && !Files.exists(host.resolve("/sys/module/kvm_amd"))) {
            problem = "neither kvm_intel nor kvm_amd is loaded, so /dev/kvm cannot run ordinary guests";
            fix = "load kvm_intel or kvm_amd (needs hardware virtualization, or nested virtualization in a VM)";
        }
        if (problem == null) {
            return;
        }
        if (qemu && accel == Accel.AUTO) {
            warn("KVM", problem + "; qemu falls back to TCG software emulation (much slower)", fix);
        } else {
            error("KVM", problem + " and " + spec.hypervisor() + (qemu ? " was asked for --accel kvm" : " needs KVM"),
                    fix + (qemu ? ", or generate the runner with --accel tcg" : ""));
        }
    }

    // ---- kernel, initrd, store disk

    private void files() {
        readableFile("kernel", spec.kernel());
        if (spec.initrd() != null) {
            readableFile("initrd", spec.initrd());
        }
        if (spec.storeDisk() != null) {
            readableFile("storeDisk.image", spec.storeDisk().image());
        }
    }

    private void readableFile(String field, String path) {
        Path p = host.resolve(path);
        if (!Files.exists(p)) {
            error(field + " " + path, "does not exist", "build it first or correct the path in the spec");
        } else if (!Files.isReadable(p)) {
            error(field + " " + path, "is not readable by " + host.userName(), "chmod a+r " + path);
        }
    }

    // ---- volumes

    private void volumes() {
        List<Mount> mounts = mounts();
        for (int i = 0; i < spec.volumes().size(); i++) {
            Volume v = spec.volumes().get(i);
            String what = "volumes[" + i + "] " + v.image();
            Path p = host.resolve(v.image());
            boolean exists = Files.exists(p);
            if (v.isBlockDevice() || exists && isBlockDevice(p)) {
                blockDevice(what, v, p, mounts);
            } else if (exists) {
                if (!Files.isRegularFile(p)) {
                    error(what, "is neither a regular file nor a block device", "point image at a disk image file or a block device");
                    continue;
                }
                if (!Files.isReadable(p) || !v.readOnly() && !Files.isWritable(p)) {
                    error(what, "is not " + (v.readOnly() ? "readable" : "readable and writable") + " by " + host.userName(),
                            "chown " + host.userName() + " " + v.image() + " (or chmod u+rw)");
                }
                if (v.size() != null) {
                    long want = v.size() * 1048576L;
                    long have = size(p);
                    if (have < want) {
                        freeSpace(what, p.getParent(), want - have, "to grow it to " + v.size() + " MiB");
                        if (!Files.isWritable(p)) {
                            error(what, "is " + have + " bytes, smaller than size " + v.size() + " MiB, and cannot be grown by "
                                    + host.userName(), "make it writable or lower size");
                        }
                    }
                }
            } else {
                if (!v.autoCreate()) {
                    error(what, "does not exist and autoCreate is false", "create it, or set autoCreate to true and give a size");
                    continue;
                }
                Path dir = p.getParent();
                if (dir == null || !Files.isDirectory(dir)) {
                    error(what, "cannot be created: directory " + dir + " does not exist", "mkdir -p " + (dir == null ? "?" : dir));
                    continue;
                }
                if (!Files.isWritable(dir)) {
                    error(what, "cannot be created: " + dir + " is not writable by " + host.userName(), "chown " + host.userName() + " " + dir);
                    continue;
                }
                freeSpace(what, dir, v.size() * 1048576L, "for the new " + v.size() + " MiB image");
                if (v.formatsOnCreate() && host.which("mkfs." + v.fsType()) == null) {
                    error(what, "is to be created and formatted but mkfs." + v.fsType() + " is not on PATH",
                            "install the " + v.fsType() + " tools (e.g. e2fsprogs for ext4, xfsprogs for xfs)");
                }
            }
        }
    }

    private void blockDevice(String what, Volume v, Path p, List<Mount> mounts) {
        if (!Files.exists(p)) {
            error(what, "block device does not exist", "check the path (block devices are passed raw and never created)");
            return;
        }
        if (!isBlockDevice(p)) {
            error(what, "is under /dev but not a block device", "point image at the block device itself");
            return;
        }
        if (!Files.isReadable(p) || !v.readOnly() && !Files.isWritable(p)) {
            String g = groupOf(p, "disk");
            error(what, "block device is not " + (v.readOnly() ? "readable" : "readable and writable") + " by " + host.userName()
                    + " (group " + g + ")", "add " + host.userName() + " to group " + g + ": usermod -aG " + g + " " + host.userName()
                    + " (then log in again), or use a udev rule giving the device to " + host.userName());
        }
        long rdev = rdev(p);
        String real = realPath(p);
        for (Mount m : mounts) {
            if (rdev >= 0 && m.major() == major(rdev) && m.minor() == minor(rdev) || real != null && real.equals(m.source())) {
                error(what, "block device is mounted on the host at " + m.mountPoint()
                        + " (a file system mounted twice gets corrupted)", "umount " + m.mountPoint() + " before starting the VM");
                break;
            }
        }
        if (v.size() != null && rdev >= 0) {
            Path sz = host.resolve("/sys/dev/block/" + major(rdev) + ":" + minor(rdev) + "/size");
            try {
                long bytes = Long.parseLong(Files.readString(sz, StandardCharsets.US_ASCII).trim()) * 512;
                if (bytes < v.size() * 1048576L) {
                    error(what, "block device has " + bytes / 1048576 + " MiB, less than size " + v.size() + " MiB",
                            "use a larger device or lower size (block devices are never resized)");
                }
            } catch (IOException | NumberFormatException e) {
                // size unknown: nothing to compare
            }
        }
    }

    private void freeSpace(String what, Path dir, long needed, String purpose) {
        try {
            long free = Files.getFileStore(dir).getUsableSpace();
            if (free < needed) {
                error(what, "needs " + needed / 1048576 + " MiB " + purpose + " but " + dir + " has " + free / 1048576 + " MiB free",
                        "free space there or lower size");
            }
        } catch (IOException e) {
            warn(what, "cannot tell the free space of " + dir + ": " + e.getMessage(), null);
        }
    }

    // ---- shares and virtiofsd

    private void shares() {
        boolean virtiofs = false;
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            Path src = host.resolve(s.source());
            String what = "shares[" + i + "] " + s.tag();
            if (!Files.isDirectory(src)) {
                error(what, "source " + s.source() + " is not a directory", "mkdir -p " + s.source());
            }
            virtiofs |= s.proto() == Share.Proto.VIRTIOFS;
        }
        if (virtiofs) {
            String found = findVirtiofsd();
            if (found == null) {
                error("virtiofsd", spec.virtiofsd().path() != null ? spec.virtiofsd().path() + " (virtiofsd.path) is not executable"
                        : "not found on PATH, at /usr/lib/qemu/virtiofsd or /usr/libexec/virtiofsd",
                        "install it (Debian 12: qemu-system-common; later: virtiofsd) or set virtiofsd.path");
            }
        }
    }

    /** The virtiofsd microvm-run will use, or null. */
    String findVirtiofsd() {
        if (spec.virtiofsd().path() != null) {
            Path p = host.resolve(spec.virtiofsd().path());
            return Files.isExecutable(p) ? p.toString() : null;
        }
        Path p = host.which("virtiofsd");
        if (p != null) {
            return p.toString();
        }
        for (String c : List.of("/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd")) {
            Path x = host.resolve(c);
            if (Files.isExecutable(x)) {
                return x.toString();
            }
        }
        return null;
    }

    // ---- network

    private void interfaces() {
        for (int i = 0; i < spec.interfaces().size(); i++) {
            NetInterface n = spec.interfaces().get(i);
            String what = "interfaces[" + i + "] " + n.type() + " " + n.id();
            switch (n.type()) {
                case TAP -> {
                    Path dev = host.resolve("/sys/class/net/" + n.id());
                    if (!Files.exists(dev)) {
                        error(what, "tap device does not exist", "ip tuntap add name " + n.id() + " mode tap user " + host.userName()
                                + " vnet_hdr" + (spec.vcpu() > 1 ? " multi_queue" : "") + " && ip link set " + n.id() + " up");
                    } else if (!Files.exists(dev.resolve("tun_flags"))) {
                        error(what, "exists but is not a tap device", "use another id, or delete it: ip link del " + n.id());
                    }
                }
                case MACVTAP -> {
                    String link = n.macvtap().link();
                    if (!Files.exists(host.resolve("/sys/class/net/" + link))) {
                        error(what, "macvtap link " + link + " does not exist", "set macvtap.link to an existing host interface (ip link)");
                    }
                    if (!Files.exists(host.resolve("/sys/class/net/" + n.id())) && !host.isRoot()) {
                        error(what, "macvtap interface does not exist and only root can create it",
                                "ip link add link " + link + " name " + n.id() + " type macvtap mode " + n.macvtap().mode()
                                        + " && ip link set " + n.id() + " address " + n.mac() + " up (as root)");
                    }
                }
                case BRIDGE -> bridge(what, n.bridge());
                case USER -> { }
                default -> throw new IllegalStateException();
            }
        }
    }

    private void bridge(String what, String br) {
        Path dev = host.resolve("/sys/class/net/" + br);
        if (!Files.exists(dev)) {
            error(what, "bridge " + br + " does not exist", "ip link add name " + br + " type bridge && ip link set " + br + " up");
        } else if (!Files.isDirectory(dev.resolve("bridge"))) {
            error(what, br + " exists but is not a bridge", "set bridge to a bridge interface (bridge link, ip -d link show type bridge)");
        }
        BridgeAcl acl = new BridgeAcl(host);
        String problem = acl.check(br);
        if (problem != null) {
            error(what, problem, acl.fix(br));
        }
        Path helper = host.resolve(BRIDGE_HELPER);
        if (!Files.isRegularFile(helper)) {
            error(what, "the bridge helper " + BRIDGE_HELPER + " does not exist", "install qemu-system-common");
        } else if (!host.isRoot()) {
            try {
                int mode = (Integer) Files.getAttribute(helper, "unix:mode");
                int uid = (Integer) Files.getAttribute(helper, "unix:uid");
                if ((mode & 04000) == 0 || uid != 0) {
                    error(what, "the bridge helper " + BRIDGE_HELPER + " is not setuid root, so " + host.userName()
                            + " cannot attach taps to " + br, "chmod u+s " + BRIDGE_HELPER + " (owned by root), or run the VM as root");
                }
            } catch (IOException | UnsupportedOperationException e) {
                warn(what, "cannot read the mode of " + BRIDGE_HELPER, null);
            }
        }
    }

    // ---- sockets

    private void sockets() {
        List<String> socks = new ArrayList<>(Runner.controlSockets(spec));
        for (Share s : spec.shares()) {
            if (s.socket() != null) {
                socks.add(s.socket());
            }
        }
        for (String s : socks) {
            Path p = host.resolve(s);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Path dir = p.getParent();
                if (dir != null && !Files.isDirectory(dir)) {
                    error("socket " + s, "its directory " + dir + " does not exist", "mkdir -p " + dir);
                }
                continue;
            }
            if (!isSocket(p)) {
                error("socket " + s, "exists and is not a socket", "remove it or choose another socket path");
                continue;
            }
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(p));
                error("socket " + s, "something is listening on it: is the VM already running?", "stop it (bin/microvm-shutdown) first");
            } catch (IOException e) {
                try {
                    Files.delete(p);
                    findings.add(new Finding(Severity.FIXED, "socket " + s, "stale (nothing listening), removed", null));
                } catch (IOException e2) {
                    error("socket " + s, "stale (nothing listening) and cannot be removed: " + e2.getMessage(), "rm -f " + s);
                }
            }
        }
    }

    // ---- helpers

    record Mount(int major, int minor, String mountPoint, String source) {}

    /** /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS". */
    List<Mount> mounts() {
        Path mi = host.resolve("/proc/self/mountinfo");
        try {
            return parseMountinfo(Files.readAllLines(mi, StandardCharsets.UTF_8));
        } catch (IOException e) {
            warn("mounts", "cannot read /proc/self/mountinfo: " + e.getMessage(), null);
            return List.of();
        }
    }

    /** The mounts of mountinfo lines; malformed lines are skipped. */
    static List<Mount> parseMountinfo(List<String> lines) {
        List<Mount> l = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length < 5) {
                continue;
            }
            String[] mm = f[2].split(":");
            int dash = java.util.Arrays.asList(f).indexOf("-");
            String source = dash >= 0 && dash + 2 < f.length ? unescape(f[dash + 2]) : null;
            try {
                l.add(new Mount(Integer.parseInt(mm[0]), Integer.parseInt(mm[1]), unescape(f[4]), source));
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                // malformed line: skip
            }
        }
        return l;
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static boolean isBlockDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            return (mode & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    static boolean isSocket(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0140000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    static long rdev(Path p) {
        try {
            return (Long) Files.getAttribute(p, "unix:rdev");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return -1;
        }
    }

    static int major(long rdev) {
        return (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
    }

    static int minor(long rdev) {
        return (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
    }

    static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    static String realPath(Path p) {
        try {
            return p.toRealPath().toString();
        } catch (IOException e) {
            return null;
        }
    }

    static String groupOf(Path p, String dflt) {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class).group().getName();
        } catch (IOException | UnsupportedOperationException e) {
            return dflt;
        }
    }
}
