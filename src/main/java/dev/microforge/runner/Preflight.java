package dev.microforge.runner;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.nix.NixWriter;
import dev.microforge.util.Events;
import dev.microforge.util.Mounts;
import dev.microforge.util.Mounts.Mount;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.Volume;
import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Checks the host for a VM before it starts. Each finding names the check, the subject (spec field and value), what is
 * wrong and why, the fix as a command, and on NixOS hosts the NixOS option that makes the fix last (a command the
 * next nixos-rebuild undoes is no fix there). Stale control sockets (nothing listening) are removed, and reported as
 * fixed. Everything is looked up under {@link Host#root()}, so tests run it against a fake /dev, /sys, /etc and /proc.
 */
public final class Preflight {
    public enum Severity { ERROR, WARNING, FIXED }

    /**
     * One finding.
     *
     * @param check    what was checked: kvm, capability, kernel, initrd, storeDisk, volume, share, virtiofsd, tap,
     *                 macvtap, bridge, qemu-machine, socket, mounts
     * @param subject  the spec field and its value, e.g. {@code interfaces[0] tap vm-tap0}
     * @param fix      a command or edit that fixes it on this host, or null
     * @param fixNixos the NixOS configuration that fixes it for good, or null (then {@code fix} holds on NixOS too)
     */
    public record Finding(Severity severity, String check, String subject, String message, String fix, String fixNixos) {
        /** {@code SEVERITY: SUBJECT: MESSAGE; fix: FIX}, with the NixOS fix on a NixOS host when there is one. */
        public String line(boolean nixos) {
            String s = switch (severity) {
                case ERROR -> "error";
                case WARNING -> "warning";
                case FIXED -> "fixed";
            };
            String f = nixos && fixNixos != null ? fixNixos : fix;
            return s + ": " + subject + ": " + message + (f == null || f.isEmpty() ? "" : "; fix: " + f);
        }
    }

    /** The bridge helper's default location on Debian (qemu-system-common). */
    public static final String BRIDGE_HELPER = QemuGenerator.BRIDGE_HELPER;
    /** The setuid wrapper NixOS creates for {@code security.wrappers.qemu-bridge-helper}. */
    public static final String NIXOS_BRIDGE_HELPER = "/run/wrappers/bin/qemu-bridge-helper";
    public static final String BRIDGE_CONF = "/etc/qemu/bridge.conf";

    static final int IFF_UP = 0x1;
    static final int IFF_TAP = 0x0002;
    static final int IFF_MULTI_QUEUE = 0x0100;

    private final VmSpec spec;
    private final Accel accel;
    private final Host host;
    private final boolean nixos;
    private final List<Finding> findings = new ArrayList<>();
    private String check = "";
    private boolean kvmUsable = true;
    private final boolean externalVirtiofsd;

    private Preflight(VmSpec spec, Accel accel, Host host, boolean externalVirtiofsd) {
        this.spec = spec;
        this.accel = accel;
        this.host = host;
        this.nixos = host.nixos();
        this.externalVirtiofsd = externalVirtiofsd;
    }

    public static List<Finding> run(VmSpec spec, Accel accel, Host host) {
        return run(spec, accel, host, false);
    }

    /**
     * {@code externalVirtiofsd}: the virtiofsd daemons run already, started by units (microvm-run's
     * MICROVM_VIRTIOFSD_EXTERNAL): their sockets must exist and are not probed (a virtiofsd serves one connection: a
     * probe would end it), and no virtiofsd binary is needed by microvm-run itself.
     */
    public static List<Finding> run(VmSpec spec, Accel accel, Host host, boolean externalVirtiofsd) {
        Preflight p = new Preflight(spec, accel, host, externalVirtiofsd);
        p.capabilities();
        p.kvm();
        p.qemuMachine();
        p.files();
        p.volumes();
        p.shares();
        p.interfaces();
        p.sockets();
        return List.copyOf(p.findings);
    }

    private void error(String what, String why, String fix) {
        error(what, why, fix, null);
    }

    private void error(String what, String why, String fix, String fixNixos) {
        findings.add(new Finding(Severity.ERROR, check, what, why, fix, fixNixos));
    }

    private void warn(String what, String why, String fix) {
        warn(what, why, fix, null);
    }

    private void warn(String what, String why, String fix, String fixNixos) {
        findings.add(new Finding(Severity.WARNING, check, what, why, fix, fixNixos));
    }

    // ---- fix texts

    /** A shell word for a value in a fix command. */
    static String q(String s) {
        return Shell.quote(s);
    }

    private String user() {
        return host.userName();
    }

    private String usermod(String group) {
        return "usermod -aG " + q(group) + " " + q(user()) + " (then log in again)";
    }

    /** {@code users.users.USER.extraGroups = [ "G" ];} */
    private String nixosGroup(String group) {
        return "users.users." + NixWriter.attrName(user()) + ".extraGroups = [ " + NixWriter.string(group) + " ];";
    }

    /** Installing a tool: apt-get only on Debian. */
    private String install(String debianPackage, String what) {
        return host.debian() ? "apt-get install " + debianPackage : "install " + what + " with the distribution's package manager";
    }

    private static String nixosPackage(String attr) {
        return "environment.systemPackages = [ pkgs." + attr + " ];";
    }

    /** The kernel module name for boot.kernelModules. */
    private String kvmModule() {
        try {
            String cpu = Files.readString(host.resolve("/proc/cpuinfo"), StandardCharsets.ISO_8859_1);
            if (cpu.contains("AuthenticAMD")) {
                return "kvm-amd";
            }
        } catch (IOException e) {
            // unknown vendor: Intel's name
        }
        return "kvm-intel";
    }

    // ---- capabilities

    private void capabilities() {
        check = "capability";
        for (String p : Capabilities.of(spec.hypervisor()).problems(spec, accel, Events.NONE)) {
            int colon = p.indexOf(": ");
            error(colon > 0 ? p.substring(0, colon) : spec.hypervisor().id(), colon > 0 ? p.substring(colon + 2) : p,
                    "change the spec or use another hypervisor (--hypervisor)");
        }
    }

    // ---- KVM

    private void kvm() {
        check = "kvm";
        boolean qemu = spec.hypervisor() == Hypervisor.QEMU;
        if (qemu && accel == Accel.TCG) {
            return;
        }
        String problem = null;
        String fix = null;
        String fixNixos = null;
        Path kvm = host.resolve("/dev/kvm");
        String module = kvmModule();
        if (!Files.exists(kvm)) {
            problem = "/dev/kvm does not exist";
            fix = "enable virtualization (VT-x/AMD-V) in the firmware and load the module: modprobe " + module.replace('-', '_');
            fixNixos = "enable virtualization (VT-x/AMD-V) in the firmware; boot.kernelModules = [ " + NixWriter.string(module) + " ];";
        } else if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            String g = groupOf(kvm, "kvm");
            problem = "/dev/kvm is not readable and writable by " + user();
            fix = "add " + user() + " to the group of /dev/kvm: " + usermod(g);
            fixNixos = nixosGroup(g);
        } else if (!Files.exists(host.resolve("/sys/module/kvm_intel")) && !Files.exists(host.resolve("/sys/module/kvm_amd"))) {
            problem = "neither kvm_intel nor kvm_amd is loaded, so /dev/kvm cannot run ordinary guests";
            fix = "load kvm_intel or kvm_amd: modprobe " + module.replace('-', '_') + " (needs hardware virtualization, or nested virtualization in a VM)";
            fixNixos = "boot.kernelModules = [ " + NixWriter.string(module) + " ]; (needs hardware virtualization, or nested virtualization in a VM)";
        }
        if (problem == null) {
            return;
        }
        kvmUsable = false;
        if (qemu && accel == Accel.AUTO) {
            warn("KVM", problem + "; qemu falls back to TCG software emulation (much slower)", fix, fixNixos);
        } else {
            String alt = qemu ? ", or generate the runner with --accel tcg" : "";
            error("KVM", problem + " and " + spec.hypervisor() + (qemu ? " was asked for --accel kvm" : " needs KVM"),
                    fix + alt, fixNixos + alt);
        }
    }

    /**
     * qemu's microvm machine needs KVM's clock: under TCG the guest cannot calibrate a timer and hangs silently. Its
     * {@code pcie} option (in microvm.nix's machineOpts) exists on no other machine: qemu refuses to start with it.
     */
    private void qemuMachine() {
        check = "qemu-machine";
        if (spec.hypervisor() != Hypervisor.QEMU) {
            return;
        }
        Map<String, String> opts = spec.hv().qemuMachineOpts();
        if (!"microvm".equals(spec.qemuMachine())) {
            String machine = spec.qemuMachine() != null ? spec.qemuMachine() : accel == Accel.KVM ? "microvm" : "q35";
            if (opts != null && !machine.equals("microvm") && opts.containsKey("pcie")) {
                error("qemu.machineOpts.pcie", "is an option of the microvm machine only: qemu refuses it on " + machine
                        + " (\"Property '...pcie' not found\")", "remove pcie from qemu.machineOpts (microvm.nix sets it for the microvm machine)");
            }
            return;
        }
        String fix = "remove qemu.machine" + (opts != null && opts.containsKey("pcie") ? " and pcie from qemu.machineOpts" : "")
                + " (the runner then picks q35 for TCG and microvm for KVM), or run with --accel kvm on a host with KVM";
        if (accel == Accel.TCG) {
            error("qemu.machine microvm", "hangs under --accel tcg (the guest finds no timer it can calibrate and never boots)", fix);
        } else if (accel == Accel.AUTO && !kvmUsable) {
            error("qemu.machine microvm", "qemu falls back to TCG here (KVM unusable, see above), where the microvm machine hangs", fix);
        }
    }

    // ---- kernel, initrd, store disk

    private void files() {
        check = "kernel";
        if (readableFile("kernel", spec.kernel(), true)) {
            String problem = kernelProblem(kernelFormat(host.resolve(spec.kernel())), spec.hypervisor());
            if (problem != null) {
                error("kernel " + spec.kernel(), problem, kernelFix(host.resolve(spec.kernel()), spec.kernel(), spec.hypervisor()),
                        kernelFixNixos(spec.hypervisor()));
            }
        }
        if (spec.initrd() != null) {
            check = "initrd";
            readableFile("initrd", spec.initrd(), false);
        }
        if (spec.storeDisk() != null) {
            check = "storeDisk";
            String img = spec.storeDisk().image();
            if (readableFile("storeDisk.image", img, false)) {
                String found = fsTypeOf(host.resolve(img));
                String want = spec.storeDisk().type().id();
                if (!want.equals(found)) {
                    String other = want.equals("erofs") ? "squashfs" : "erofs";
                    if (other.equals(found)) {
                        error("storeDisk.image " + img, "is " + (found.equals("erofs") ? "an EROFS" : "a SquashFS") + " image but storeDisk.type is "
                                + want + ": the guest would mount it as " + want + " and fail", "set storeDisk.type to " + found);
                    } else {
                        error("storeDisk.image " + img, "is neither a SquashFS nor an EROFS image (" + describe(found) + ")",
                                "build it with microforge image build --format " + want);
                    }
                }
            }
        }
    }

    /** Reports a missing, unreadable or (unless {@code directoryOk}) non-regular file; true when it can be read. */
    private boolean readableFile(String field, String path, boolean directoryOk) {
        Path p = host.resolve(path);
        if (!Files.exists(p)) {
            error(field + " " + path, "does not exist", "build it first or correct the path in the spec");
            return false;
        } else if (!Files.isReadable(p)) {
            error(field + " " + path, "is not readable by " + user(), "chmod a+r " + q(path));
            return false;
        } else if (!directoryOk && !Files.isRegularFile(p) && !isBlockDevice(p)) {
            error(field + " " + path, "is not a regular file", "point " + field + " at the file itself");
            return false;
        }
        return true;
    }

    /** What a kernel file is, read from its first bytes. */
    public enum KernelFormat {
        /** x86 boot protocol image: "HdrS" at 0x202. */
        BZIMAGE,
        /** a 64-bit x86 ELF file (an uncompressed vmlinux). */
        ELF,
        /** an ELF file for another class or machine. */
        FOREIGN_ELF,
        DIRECTORY,
        /** neither: not a kernel image. */
        OTHER
    }

    /** The format of the kernel file {@code p} (already resolved on the host). */
    public static KernelFormat kernelFormat(Path p) {
        if (Files.isDirectory(p)) {
            return KernelFormat.DIRECTORY;
        }
        byte[] b = head(p, 0x210);
        if (b.length >= 0x206 && b[0x202] == 'H' && b[0x203] == 'd' && b[0x204] == 'r' && b[0x205] == 'S') {
            return KernelFormat.BZIMAGE;
        }
        if (b.length >= 20 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F') {
            int machine = (b[18] & 0xff) | (b[19] & 0xff) << 8;
            return b[4] == 2 && b[5] == 1 && machine == 62 ? KernelFormat.ELF : KernelFormat.FOREIGN_ELF;
        }
        return KernelFormat.OTHER;
    }

    /** null when {@code h} boots a kernel of format {@code f}; else what goes wrong. */
    public static String kernelProblem(KernelFormat f, Hypervisor h) {
        boolean elfOnly = h == Hypervisor.CLOUD_HYPERVISOR || h == Hypervisor.FIRECRACKER;
        return switch (f) {
            case DIRECTORY -> "is a directory (a kernel package?), not a kernel image: " + h + " fails to start"
                    + (h == Hypervisor.QEMU ? " (\"could not load kernel ...: Is a directory\")" : "");
            case OTHER -> "is not a kernel image (neither a bzImage, with \"HdrS\" at 0x202, nor an ELF vmlinux)";
            case FOREIGN_ELF -> "is an ELF file, but not a 64-bit x86 one: not a kernel this host can boot";
            case BZIMAGE -> elfOnly ? "is a bzImage, but " + h + " boots only an uncompressed ELF vmlinux" : null;
            case ELF -> h == Hypervisor.KVMTOOL ? "is an ELF vmlinux, but kvmtool boots a bzImage" : null;
        };
    }

    private static String kernelFix(Path resolved, String kernel, Hypervisor h) {
        boolean elf = h == Hypervisor.CLOUD_HYPERVISOR || h == Hypervisor.FIRECRACKER;
        String file = elf ? "vmlinux" : "bzImage";
        if (Files.isDirectory(resolved)) {
            for (String c : elf ? List.of("vmlinux") : List.of("bzImage", "vmlinux")) {
                if (kernelProblem(kernelFormat(resolved.resolve(c)), h) == null) {
                    return "set kernel to " + q((kernel.endsWith("/") ? kernel : kernel + "/") + c);
                }
            }
            return "set kernel to the " + file + " file inside the package";
        }
        return elf ? "give the uncompressed vmlinux (the kernel's dev output has it; or extract-vmlinux " + q(kernel) + ")"
                : "give a bzImage (e.g. /boot/vmlinuz-VERSION)";
    }

    private static String kernelFixNixos(Hypervisor h) {
        boolean elf = h == Hypervisor.CLOUD_HYPERVISOR || h == Hypervisor.FIRECRACKER;
        return "set kernel to \"${config.boot.kernelPackages.kernel" + (elf ? ".dev}/vmlinux" : "}/bzImage") + "\"";
    }

    static byte[] head(Path p, int n) {
        try (var ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(n);
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // fill
            }
            return Arrays.copyOf(buf.array(), buf.position());
        } catch (IOException | RuntimeException e) {
            return new byte[0];
        }
    }

    /**
     * The file system whose superblock {@code p} (an image file or a block device) starts with: squashfs, erofs, ext4
     * (for ext2, ext3 and ext4), xfs, btrfs, vfat, f2fs, exfat, swap; {@code ""} when the first 128 KiB are all zero
     * (blank: no file system); null when unknown or unreadable.
     */
    public static String fsTypeOf(Path p) {
        byte[] b = head(p, 128 * 1024);
        if (b.length == 0) {
            return Files.isRegularFile(p) && size(p) == 0 ? "" : null;
        }
        if (at(b, 0, "hsqs")) {
            return "squashfs";
        }
        if (le32(b, 1024) == 0xE0F5E1E2L) {
            return "erofs";
        }
        if (b.length > 1081 && (b[1080] & 0xff) == 0x53 && (b[1081] & 0xff) == 0xEF) {
            return "ext4";
        }
        if (at(b, 0, "XFSB")) {
            return "xfs";
        }
        if (at(b, 0x10040, "_BHRfS_M")) {
            return "btrfs";
        }
        if (le32(b, 1024) == 0xF2F52010L) {
            return "f2fs";
        }
        if (at(b, 3, "EXFAT   ")) {
            return "exfat";
        }
        if (b.length >= 512 && (b[510] & 0xff) == 0x55 && (b[511] & 0xff) == 0xAA
                && (at(b, 0x36, "FAT12") || at(b, 0x36, "FAT16") || at(b, 0x52, "FAT32"))) {
            return "vfat";
        }
        if (at(b, 4096 - 10, "SWAPSPACE2")) {
            return "swap";
        }
        for (byte x : b) {
            if (x != 0) {
                return null;
            }
        }
        return "";
    }

    /** The fsTypes {@link #fsTypeOf} can recognise, mapped to its names. */
    static String fsFamily(String fsType) {
        return switch (fsType) {
            case "ext2", "ext3", "ext4" -> "ext4";
            case "vfat", "fat", "msdos" -> "vfat";
            case "xfs", "btrfs", "f2fs", "exfat", "squashfs", "erofs" -> fsType;
            default -> null;
        };
    }

    private static String describe(String found) {
        return found == null ? "unknown content" : found.isEmpty() ? "all zero: blank" : "found " + found;
    }

    private static boolean at(byte[] b, int off, String magic) {
        if (b.length < off + magic.length()) {
            return false;
        }
        for (int i = 0; i < magic.length(); i++) {
            if (b[off + i] != (byte) magic.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static long le32(byte[] b, int off) {
        if (b.length < off + 4) {
            return -1;
        }
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    // ---- volumes

    private void volumes() {
        List<Mount> mounts = mounts();
        check = "volume";
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
                    error(what, "is not " + (v.readOnly() ? "readable" : "readable and writable") + " by " + user(),
                            "chown " + q(user()) + " " + q(v.image()) + " (or chmod u+rw)");
                    continue;
                }
                if (v.size() != null) {
                    long want = v.size() * 1048576L;
                    long have = size(p);
                    if (have < want) {
                        freeSpace(what, p.getParent(), want - have, "to grow it to " + v.size() + " MiB");
                        if (!Files.isWritable(p)) {
                            error(what, "is " + have + " bytes, smaller than size " + v.size() + " MiB, and cannot be grown by "
                                    + user(), "make it writable or lower size");
                        }
                    }
                }
                fileSystem(what, v, p, false);
            } else {
                if (!v.autoCreate()) {
                    error(what, "does not exist and autoCreate is false", "create it, or set autoCreate to true and give a size");
                    continue;
                }
                Path dir = p.getParent();
                if (dir == null || !Files.isDirectory(dir)) {
                    String d = dir == null ? "?" : Path.of(v.image()).toAbsolutePath().getParent().toString();
                    error(what, "cannot be created: directory " + (dir == null ? "?" : dir) + " does not exist", "mkdir -p " + q(d),
                            "systemd.tmpfiles.rules = [ " + NixWriter.string("d " + d + " 0755 " + user() + " - -") + " ];");
                    continue;
                }
                if (!Files.isWritable(dir)) {
                    error(what, "cannot be created: " + dir + " is not writable by " + user(), "chown " + q(user()) + " " + q(dir.toString()));
                    continue;
                }
                freeSpace(what, dir, v.size() * 1048576L, "for the new " + v.size() + " MiB image");
                if (v.formatsOnCreate() && host.which("mkfs." + v.fsType()) == null) {
                    String[] pkg = fsTools(v.fsType());
                    error(what, "is to be created and formatted but mkfs." + v.fsType() + " is not on PATH",
                            install(pkg[0], "the " + v.fsType() + " tools (" + pkg[0] + ")"), nixosPackage(pkg[1]));
                }
            }
        }
    }

    /** The Debian package and the nixpkgs attribute that provide mkfs.FSTYPE. */
    static String[] fsTools(String fsType) {
        return switch (fsType) {
            case "xfs" -> new String[] {"xfsprogs", "xfsprogs"};
            case "btrfs" -> new String[] {"btrfs-progs", "btrfs-progs"};
            case "vfat", "fat", "msdos" -> new String[] {"dosfstools", "dosfstools"};
            case "f2fs" -> new String[] {"f2fs-tools", "f2fs-tools"};
            case "exfat" -> new String[] {"exfatprogs", "exfatprogs"};
            default -> new String[] {"e2fsprogs", "e2fsprogs"};
        };
    }

    /**
     * An existing image or device the guest mounts (a mountPoint) must hold a file system of its fsType: microvm-run
     * formats only image files it creates, and never a block device.
     */
    private void fileSystem(String what, Volume v, Path p, boolean block) {
        if (v.mountPoint() == null || !Files.isReadable(p)) {
            return;
        }
        String found = fsTypeOf(p);
        String want = fsFamily(v.fsType());
        String mkfs = "mkfs." + v.fsType() + " " + q(v.image());
        if ("".equals(found)) {
            error(what, (block ? "block device " : "") + "has no file system (its first 128 KiB are zero) and the guest mounts it at "
                    + v.mountPoint() + " as " + v.fsType() + (block ? "; a block device is never formatted"
                    : "; microvm-run formats only images it creates"),
                    mkfs + (block ? " (erases the device)" : ", or remove the file so microvm-run creates it"
                            + (v.autoCreate() ? "" : " (with autoCreate)")) + ", or drop mountPoint to give the guest a raw disk");
        } else if (want != null && found != null && !want.equals(found)) {
            error(what, "holds a file system of type " + found + " but fsType is " + v.fsType() + ": the guest's mount at " + v.mountPoint()
                    + " would fail", "set fsType to " + found + " (or reformat: " + mkfs + ", which erases it)");
        } else if (want != null && found == null) {
            warn(what, "no " + v.fsType() + " superblock found (unknown content): the guest's mount at " + v.mountPoint() + " may fail",
                    "check the device, or set fsType to what it holds");
        }
    }

    private void blockDevice(String what, Volume v, Path p, List<Mount> mounts) {
        check = "volume";
        if (!Files.exists(p)) {
            error(what, "block device does not exist", "check the path (block devices are passed raw and never created)");
            return;
        }
        if (!isBlockDevice(p)) {
            error(what, "is under /dev but not a block device", "point image at the block device itself");
            return;
        }
        if (v.autoCreate()) {
            warn(what, "autoCreate is ignored for a block device: it is never created, resized or formatted",
                    "remove autoCreate (or set it to false)");
        }
        if (!Files.isReadable(p) || !v.readOnly() && !Files.isWritable(p)) {
            String g = groupOf(p, "disk");
            error(what, "block device is not " + (v.readOnly() ? "readable" : "readable and writable") + " by " + user()
                    + " (group " + g + ")", "add " + user() + " to group " + g + ": " + usermod(g)
                    + ", or use a udev rule giving the device to " + user(), nixosGroup(g)
                    + " (or a services.udev.extraRules rule giving the device to " + user() + ")");
        }
        long rdev = rdev(p);
        String real = realPath(p);
        for (Mount m : mounts) {
            if (rdev >= 0 && m.major() == major(rdev) && m.minor() == minor(rdev) || real != null && real.equals(m.source())) {
                error(what, "block device is mounted on the host at " + m.mountPoint()
                        + " (a file system mounted twice gets corrupted)", "umount " + q(m.mountPoint()) + " before starting the VM",
                        "umount " + q(m.mountPoint()) + " before starting the VM, and remove it from fileSystems");
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
        fileSystem(what, v, p, true);
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
        check = "share";
        boolean virtiofs = false;
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            Path src = host.resolve(s.source());
            String what = "shares[" + i + "] " + s.tag();
            if (!Files.isDirectory(src)) {
                error(what, "source " + s.source() + " is not a directory", "mkdir -p " + q(s.source()),
                        "systemd.tmpfiles.rules = [ " + NixWriter.string("d " + s.source() + " 0755 " + user() + " - -") + " ];");
            }
            virtiofs |= s.proto() == Share.Proto.VIRTIOFS;
        }
        if (virtiofs && !externalVirtiofsd) {
            check = "virtiofsd";
            String found = findVirtiofsd();
            if (found == null) {
                error("virtiofsd", spec.virtiofsd().path() != null ? spec.virtiofsd().path() + " (virtiofsd.path) is not executable"
                        : "not found on PATH, at /usr/lib/qemu/virtiofsd or /usr/libexec/virtiofsd",
                        (host.debian() ? "apt-get install virtiofsd (Debian 12: qemu-system-common)" : install("virtiofsd", "virtiofsd"))
                                + ", or set virtiofsd.path",
                        nixosPackage("virtiofsd") + " or set virtiofsd.path to \"${pkgs.virtiofsd}/bin/virtiofsd\"");
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
                case TAP -> tap(what, n);
                case MACVTAP -> macvtap(what, n);
                case BRIDGE -> bridge(what, n.bridge());
                case USER -> { }
                default -> throw new IllegalStateException();
            }
        }
    }

    /** qemu opens a tap with IFF_MULTI_QUEUE exactly when it passes queues=VCPU (vcpu > 1). */
    private boolean multiQueue() {
        return spec.hypervisor() == Hypervisor.QEMU && spec.vcpu() > 1;
    }

    private String tapCreate(String id) {
        return "ip tuntap add name " + q(id) + " mode tap user " + q(user()) + " vnet_hdr" + (multiQueue() ? " multi_queue" : "")
                + " && ip link set " + q(id) + " up";
    }

    private String tapNixos(String id) {
        return "systemd.network.netdevs." + NixWriter.attrName(id) + " = { netdevConfig = { Name = " + NixWriter.string(id)
                + "; Kind = \"tap\"; }; tapConfig = { User = " + NixWriter.string(user()) + "; VNetHeader = true; MultiQueue = "
                + multiQueue() + "; }; }; (with systemd.network.enable = true)";
    }

    private void tap(String what, NetInterface n) {
        check = "tap";
        String id = n.id();
        Path dev = host.resolve("/sys/class/net/" + id);
        if (!Files.exists(dev)) {
            error(what, "tap device does not exist", tapCreate(id), tapNixos(id));
            return;
        }
        long flags = readNumber(dev.resolve("tun_flags"));
        if (!Files.exists(dev.resolve("tun_flags"))) {
            error(what, "exists but is not a tap device", "use another id, or delete it: ip link del " + q(id));
            return;
        }
        String recreate = "ip link del " + q(id) + " && " + tapCreate(id);
        if (flags >= 0 && (flags & IFF_TAP) == 0) {
            error(what, "is a tun (layer 3) device, not a tap", recreate, tapNixos(id));
            return;
        }
        if (flags >= 0 && spec.hypervisor() == Hypervisor.QEMU && ((flags & IFF_MULTI_QUEUE) != 0) != multiQueue()) {
            boolean has = (flags & IFF_MULTI_QUEUE) != 0;
            error(what, "was created " + (has ? "with" : "without") + " multi_queue but qemu opens it " + (has ? "without (vcpu 1)"
                    : "with queues=" + spec.vcpu() + " (vcpu " + spec.vcpu() + ")") + ": qemu fails with \"could not configure /dev/net/tun ("
                    + id + "): Invalid argument\"", recreate, tapNixos(id));
        }
        if (!host.isRoot()) {
            long owner = readNumber(dev.resolve("owner"));
            long group = readNumber(dev.resolve("group"));
            long uid = host.uid();
            Set<Long> gids = host.gids();
            String eperm = ": opening it fails with \"Operation not permitted\" (without CAP_NET_ADMIN)";
            if (owner >= 0 && uid >= 0 && owner != uid) {
                error(what, "belongs to uid " + owner + ", not to " + user() + " (uid " + uid + ")" + eperm,
                        "ip link del " + q(id) + " && " + tapCreate(id), tapNixos(id));
            } else if (group >= 0 && !gids.isEmpty() && !gids.contains(group)) {
                error(what, "is restricted to gid " + group + ", which " + user() + " is not in" + eperm,
                        "ip link del " + q(id) + " && " + tapCreate(id), tapNixos(id));
            }
        }
        long ifFlags = readNumber(dev.resolve("flags"));
        if (ifFlags >= 0 && (ifFlags & IFF_UP) == 0) {
            warn(what, "is down: the guest's network stays dead until it is up (microvm-run does not bring taps up)",
                    "ip link set " + q(id) + " up");
        }
    }

    private void macvtap(String what, NetInterface n) {
        check = "macvtap";
        String link = n.macvtap().link();
        String id = n.id();
        String mode = n.macvtap().mode();
        Path linkDir = host.resolve("/sys/class/net/" + link);
        if (!Files.exists(linkDir)) {
            error(what, "macvtap link " + link + " does not exist", "set macvtap.link to an existing host interface (ip link)");
        }
        Path dev = host.resolve("/sys/class/net/" + id);
        String create = "ip link add link " + q(link) + " name " + q(id) + " type macvtap mode " + mode
                + " && ip link set " + q(id) + " address " + n.mac() + " up";
        String recreate = "ip link del " + q(id) + " (microvm-run then creates it with the spec's link, mode and MAC)";
        if (!Files.exists(dev)) {
            if (!host.isRoot()) {
                error(what, "macvtap interface does not exist and only root can create it", create + " (as root)");
            }
            return;
        }
        if (!Files.isDirectory(dev.resolve("macvtap"))) {
            error(what, "exists but is not a macvtap interface", "use another id, or " + recreate);
            return;
        }
        String mac = readLine(dev.resolve("address"));
        if (mac != null && !mac.equalsIgnoreCase(n.mac())) {
            error(what, "has MAC " + mac + " but the VM's is " + n.mac() + " (mac, or derived from the VM name and id)"
                    + ": microvm-run sets the MAC only when it creates the interface, and the guest's frames would not reach it",
                    "ip link set " + q(id) + " address " + n.mac() + ", or " + recreate);
        }
        long iflink = readNumber(dev.resolve("iflink"));
        long linkIndex = readNumber(linkDir.resolve("ifindex"));
        if (iflink >= 0 && linkIndex >= 0 && iflink != linkIndex) {
            error(what, "sits on " + ifName(iflink) + ", not on macvtap.link " + link, recreate);
        }
        String actual = macvtapMode(id);
        if (actual != null && !actual.equals(mode)) {
            error(what, "is in mode " + actual + ", not " + mode + " (macvtap.mode)", recreate);
        }
        long flags = readNumber(dev.resolve("flags"));
        if (flags >= 0 && (flags & IFF_UP) == 0) {
            error(what, "is DOWN: microvm-run brings the link up only when it creates it, so the guest would have no network",
                    "ip link set " + q(id) + " up, or " + recreate);
        }
        long index = readNumber(dev.resolve("ifindex"));
        if (index >= 0 && !host.isRoot()) {
            Path tap = host.resolve("/dev/tap" + index);
            if (!Files.isReadable(tap) || !Files.isWritable(tap)) {
                error(what, "/dev/tap" + index + " is not readable and writable by " + user() + ", so microvm-run cannot open it",
                        "chown " + q(user()) + " /dev/tap" + index + " (a udev rule makes it last)",
                        "services.udev.extraRules = ''SUBSYSTEM==\"macvtap\", KERNEL==\"tap*\", OWNER=\"" + user() + "\"'';");
            }
        }
    }

    /** The name of the interface with index {@code index}, or "ifindex N". */
    private String ifName(long index) {
        try (var l = Files.list(host.resolve("/sys/class/net"))) {
            for (Path p : l.sorted().toList()) {
                if (readNumber(p.resolve("ifindex")) == index) {
                    return p.getFileName().toString();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "ifindex " + index;
    }

    /** The MACVLAN mode of a live interface, from {@code ip -d -j link} (only on the real root), or null when unknown. */
    private String macvtapMode(String id) {
        if (!host.root().equals(Path.of("/")) || host.which("ip") == null) {
            return null;
        }
        try {
            Process p = new ProcessBuilder(host.which("ip").toString(), "-d", "-j", "link", "show", "dev", id)
                    .redirectErrorStream(false).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            p.getErrorStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            var node = new ObjectMapper().readTree(out);
            var m = node.path(0).path("linkinfo").path("info_data").path("mode");
            return m.isTextual() ? m.asText() : null;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return null;
        }
    }

    /** A decimal or 0x-hex number in a sysfs file, or -1 (also for -1 itself: unset owner or group). */
    static long readNumber(Path p) {
        String s = readLine(p);
        if (s == null) {
            return -1;
        }
        try {
            return s.startsWith("0x") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static String readLine(Path p) {
        try {
            return Files.readString(p, StandardCharsets.ISO_8859_1).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void bridge(String what, String br) {
        check = "bridge";
        Path dev = host.resolve("/sys/class/net/" + br);
        String nixBridge = "networking.bridges." + NixWriter.attrName(br) + ".interfaces = [ ];";
        if (!Files.exists(dev)) {
            error(what, "bridge " + br + " does not exist", "ip link add name " + q(br) + " type bridge && ip link set " + q(br) + " up",
                    nixBridge);
        } else if (!Files.isDirectory(dev.resolve("bridge"))) {
            error(what, br + " exists but is not a bridge", "set bridge to a bridge interface (bridge link, ip -d link show type bridge)");
        }
        BridgeAcl acl = new BridgeAcl(host);
        String problem = acl.check(br);
        if (problem != null) {
            error(what, problem, acl.fix(br), acl.fixNixos(br));
        }
        String helperPath = QemuGenerator.bridgeHelper(spec);
        Path helper = host.resolve(helperPath);
        String wrapper = "security.wrappers.qemu-bridge-helper = { source = \"${pkgs.qemu}/libexec/qemu-bridge-helper\"; "
                + "owner = \"root\"; group = \"root\"; setuid = true; }; and qemu.bridgeHelper = \"" + NIXOS_BRIDGE_HELPER + "\" in the spec";
        if (!Files.isRegularFile(helper)) {
            String other = otherBridgeHelper(helperPath);
            error(what, "the bridge helper " + helperPath + " does not exist" + (other != null ? " (there is one at " + other + ")" : ""),
                    other != null ? "set qemu.bridgeHelper to " + other + " in the spec"
                            : host.debian() ? "apt-get install qemu-system-common" : "install qemu's bridge helper and set qemu.bridgeHelper",
                    other != null ? "set qemu.bridgeHelper to " + other + " in the spec" : wrapper);
        } else if (!host.isRoot()) {
            try {
                int mode = (Integer) Files.getAttribute(helper, "unix:mode");
                int uid = (Integer) Files.getAttribute(helper, "unix:uid");
                if ((mode & 04000) == 0 || uid != 0) {
                    error(what, "the bridge helper " + helperPath + " is not setuid root, so " + user()
                            + " cannot attach taps to " + br, "chmod u+s " + q(helperPath) + " (owned by root), or run the VM as root", wrapper);
                }
            } catch (IOException | UnsupportedOperationException e) {
                warn(what, "cannot read the mode of " + helperPath, null);
            }
        }
    }

    /**
     * Another qemu-bridge-helper on this host: NixOS's setuid wrapper, then where qemu looks by default (beside the
     * qemu binary on PATH: ../libexec, ../lib/qemu), then Debian's path.
     */
    private String otherBridgeHelper(String configured) {
        List<String> c = new ArrayList<>();
        c.add(NIXOS_BRIDGE_HELPER);
        Path qemu = host.which("qemu-system-x86_64");
        if (qemu != null) {
            Path real = qemu;
            try {
                real = qemu.toRealPath();
            } catch (IOException e) {
                // keep the PATH entry
            }
            Path bin = real.getParent();
            for (Path x : List.of(bin.resolveSibling("libexec").resolve("qemu-bridge-helper"),
                    bin.resolveSibling("lib").resolve("qemu").resolve("qemu-bridge-helper"))) {
                if (x.startsWith(host.root())) {
                    c.add("/" + host.root().relativize(x));
                }
            }
        }
        c.add(BRIDGE_HELPER);
        for (String x : c) {
            if (!x.equals(configured) && Files.isRegularFile(host.resolve(x))) {
                return x;
            }
        }
        return null;
    }

    // ---- sockets

    private void sockets() {
        check = "socket";
        List<String> socks = new ArrayList<>(Runner.controlSockets(spec));
        for (Share s : spec.shares()) {
            if (s.socket() == null) {
                continue;
            }
            if (!externalVirtiofsd) {
                socks.add(s.socket());
            } else if (!isSocket(host.resolve(s.socket()))) {
                error("socket " + s.socket(), "the virtiofsd of share " + s.tag() + " is not serving it (MICROVM_VIRTIOFSD_EXTERNAL is"
                        + " set: the daemons run in their own units)", "start its virtiofsd unit first");
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
                    findings.add(new Finding(Severity.FIXED, check, "socket " + s, "stale (nothing listening), removed", null, null));
                } catch (IOException e2) {
                    error("socket " + s, "stale (nothing listening) and cannot be removed: " + e2.getMessage(), "rm -f " + s);
                }
            }
        }
    }

    // ---- helpers

    /** /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS". */
    List<Mount> mounts() {
        check = "mounts";
        Path mi = host.resolve("/proc/self/mountinfo");
        try {
            return Mounts.read(mi);
        } catch (IOException e) {
            warn("mounts", "cannot read /proc/self/mountinfo: " + e.getMessage(), null);
            return List.of();
        }
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
            return Files.readAttributes(p, PosixFileAttributes.class).group().getName();
        } catch (IOException | UnsupportedOperationException e) {
            return dflt;
        }
    }
}
