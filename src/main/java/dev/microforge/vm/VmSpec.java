package dev.microforge.vm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.util.Events;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A microVM described once, runnable under any supported hypervisor. Field names follow microvm.nix's
 * {@code microvm.*} options (see docs/vm-spec.md). Defaults are resolved here: every volume has its serial,
 * every interface its MAC, every virtiofs share its socket, so generators and the Nix emitter see the same values.
 *
 * @param name        the VM name (host name like: letters, digits, '.', '_', '-'; at most 63 bytes)
 * @param hypervisor  default qemu
 * @param vcpu        virtual CPUs (default 1)
 * @param mem         RAM in MiB (default 512)
 * @param kernel      kernel image (bzImage/vmlinux), or a kernel package directory containing bzImage
 * @param initrd      initrd path or null (microvm.nix: initrdPath)
 * @param kernelParams kernel command line parameters
 * @param storeOnDisk whether the guest's /nix/store comes from {@code storeDisk}
 * @param storeDisk   the store disk, required when storeOnDisk
 * @param writableStoreOverlay guest path of a writable overlay over the store, or null
 * @param vsockCid    AF_VSOCK context id (3 or more) or null (microvm.nix: vsock.cid)
 * @param socket      hypervisor control socket path or null (default NAME.sock)
 * @param user        user to switch to when started as root, or null
 * @param virtiofsd   path of virtiofsd (null: PATH, then /usr/lib/qemu/virtiofsd) and extra arguments
 * @param qemuMachine qemu machine type or null for the default (microvm.nix: qemu.machine)
 * @param extraArgs   extra hypervisor arguments per hypervisor (microvm.nix: qemu.extraArgs, ...)
 * @param hugepageMem guest RAM from huge pages (qemu, cloud-hypervisor)
 * @param deflateOnOOM the balloon deflates when the guest runs out of memory (default true)
 * @param preStart    shell commands microvm-run runs before starting the hypervisor, or null
 * @param credentialFiles systemd credentials for the guest: name to host file (qemu: fw_cfg)
 * @param devices     host devices passed through (qemu)
 * @param machineId   the VM's UUID (qemu: SMBIOS system UUID) or null
 * @param hv          hypervisor-specific options
 * @param extraArgsScript a program whose one line of output microvm-run appends to the hypervisor's arguments
 *                    (split at blanks, as microvm.nix does), or null
 * @param qemuBridgeHelper qemu-bridge-helper for bridge interfaces, or null for Debian's /usr/lib/qemu/qemu-bridge-helper
 *                    (NixOS: /run/wrappers/bin/qemu-bridge-helper, from security.wrappers)
 */
public record VmSpec(String name, Hypervisor hypervisor, int vcpu, int mem, String kernel, String initrd,
                     List<String> kernelParams, boolean storeOnDisk, StoreDisk storeDisk, String writableStoreOverlay,
                     List<Volume> volumes, List<Share> shares, List<NetInterface> interfaces,
                     List<ForwardPort> forwardPorts, Long vsockCid, boolean balloon, String socket, String user,
                     Virtiofsd virtiofsd, String qemuMachine, Map<Hypervisor, List<String>> extraArgs,
                     boolean hugepageMem, boolean deflateOnOOM, String preStart, Map<String, String> credentialFiles,
                     List<Device> devices, String machineId, HypervisorOptions hv, String extraArgsScript,
                     String qemuBridgeHelper) {
    /** A VM name: it becomes unit names, file names and script words (nix/host.nix asserts the same rule). */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,62}");
    static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,31}\\$?");
    static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    /** fw_cfg file names are at most 55 bytes; the credential prefix takes 27 of them. */
    public static final String CREDENTIAL_PREFIX = "opt/io.systemd.credentials/";
    public static final int CREDENTIAL_NAME_MAX = 55 - CREDENTIAL_PREFIX.length();
    static final Pattern CREDENTIAL_NAME = Pattern.compile("[A-Za-z0-9_.:@-]+");

    /**
     * virtiofsd: {@code path} (null = search PATH, then /usr/lib/qemu/virtiofsd), extra arguments, and microvm.nix's
     * virtiofsd.inodeFileHandles (never, prefer, mandatory), threadPoolSize and group (null: virtiofsd's defaults).
     */
    public record Virtiofsd(String path, List<String> extraArgs, String inodeFileHandles, Integer threadPoolSize,
                            String group) {
        public static final Virtiofsd DEFAULT = new Virtiofsd(null, List.of(), null, null, null);

        public Virtiofsd {
            Check.optionalPath("path", path);
            extraArgs = Check.strings("extraArgs", extraArgs);
            if (inodeFileHandles != null) {
                Check.oneOf("inodeFileHandles", inodeFileHandles, List.of("never", "prefer", "mandatory"));
            }
            if (threadPoolSize != null) {
                Check.range("threadPoolSize", threadPoolSize, 0, 65536, "");
            }
            if (group != null && !USER.matcher(group).matches()) {
                throw new SpecError("group", "'" + group + "' is not a valid group name");
            }
        }
    }

    /**
     * Options of one hypervisor each (microvm.nix qemu.*, cloud-hypervisor.*, crosvm.*, firecracker.*).
     *
     * @param qemuMachineOpts   the -M options replacing microforge's (null: microforge's)
     * @param qemuSerialConsole the serial console on stdio (console=ttyS0)
     * @param qemuPcieRootPorts PCIe root ports
     * @param chPlatformOEMStrings cloud-hypervisor --platform oem_strings
     * @param crosvmPivotRoot   crosvm --pivot-root directory or null
     * @param firecrackerCpu    firecracker custom CPU template (a JSON object) or null
     * @param firecrackerDriveIoEngine Async or Sync
     * @param firecrackerExtraConfig merged into firecracker.json (objects recursively, other values replace)
     */
    public record HypervisorOptions(Map<String, String> qemuMachineOpts, boolean qemuSerialConsole,
                                    List<PcieRootPort> qemuPcieRootPorts, List<String> chPlatformOEMStrings,
                                    String crosvmPivotRoot, ObjectNode firecrackerCpu,
                                    String firecrackerDriveIoEngine,
                                    ObjectNode firecrackerExtraConfig) {
        public static final HypervisorOptions DEFAULT = new HypervisorOptions(null, true, List.of(), List.of(), null, null,
                "Async", null);

        public HypervisorOptions {
            if (qemuMachineOpts != null) {
                Map<String, String> m = new TreeMap<>();
                qemuMachineOpts.forEach((k, v) -> {
                    Check.token("qemu.machineOpts", k, 64, "option name");
                    if (k.indexOf(',') >= 0 || k.indexOf('=') >= 0) {
                        throw new SpecError("qemu.machineOpts." + k, "option names must not contain ',' or '='");
                    }
                    Check.token("qemu.machineOpts." + k, v, 256, "option value");
                    m.put(k, v);
                });
                qemuMachineOpts = Collections.unmodifiableMap(m);
            }
            qemuPcieRootPorts = qemuPcieRootPorts == null ? List.of() : List.copyOf(qemuPcieRootPorts);
            chPlatformOEMStrings = Check.strings("cloud-hypervisor.platformOEMStrings", chPlatformOEMStrings);
            for (int i = 0; i < chPlatformOEMStrings.size(); i++) {
                for (char c : new char[] {',', '[', ']', '"', '\n'}) {
                    if (chPlatformOEMStrings.get(i).indexOf(c) >= 0) {
                        throw new SpecError("cloud-hypervisor.platformOEMStrings[" + i + "]", "must not contain "
                                + (c == '\n' ? "a newline" : "'" + c + "'") + " (cloud-hypervisor's --platform syntax cannot carry it)");
                    }
                }
            }
            if (crosvmPivotRoot != null) {
                Check.path("crosvm.pivotRoot", crosvmPivotRoot);
            }
            if (firecrackerDriveIoEngine == null) {
                firecrackerDriveIoEngine = "Async";
            }
            Check.oneOf("firecracker.driveIoEngine", firecrackerDriveIoEngine, List.of("Async", "Sync"));
            firecrackerCpu = firecrackerCpu == null ? null : firecrackerCpu.deepCopy();
            firecrackerExtraConfig = firecrackerExtraConfig == null || firecrackerExtraConfig.isEmpty() ? null
                    : firecrackerExtraConfig.deepCopy();
        }
    }

    public VmSpec {
        Check.required("name", name);
        if (!NAME.matcher(name).matches()) {
            throw new SpecError("name", "'" + name.replace("\n", "\\n") + "' is not a valid VM name (letters, digits, '.', '_', '-', at most 63, not starting with '.' or '-')");
        }
        if (hypervisor == null) {
            hypervisor = Hypervisor.QEMU;
        }
        Check.range("vcpu", vcpu, 1, 255, "");
        Check.range("mem", mem, 16, 16 * 1024 * 1024, " MiB");
        Check.path("kernel", kernel);
        Check.optionalPath("initrd", initrd);
        kernelParams = Check.strings("kernelParams", kernelParams);
        for (int i = 0; i < kernelParams.size(); i++) {
            if (kernelParams.get(i).indexOf('\n') >= 0) {
                throw new SpecError("kernelParams[" + i + "]", "must not contain a newline");
            }
        }
        if (storeOnDisk && storeDisk == null) {
            throw new SpecError("storeDisk", "is required when storeOnDisk is true (or share the host's /nix/store: a share with source /nix/store)");
        }
        if (!storeOnDisk && storeDisk != null) {
            throw new SpecError("storeDisk", "is set but storeOnDisk is false; remove one of them");
        }
        if (writableStoreOverlay != null) {
            Check.guestPath("writableStoreOverlay", writableStoreOverlay);
        }
        volumes = nonNull("volumes", volumes);
        shares = nonNull("shares", shares);
        interfaces = nonNull("interfaces", interfaces);
        forwardPorts = nonNull("forwardPorts", forwardPorts);
        if (vsockCid != null && (vsockCid < 3 || vsockCid > 0xFFFFFFFEL)) {
            throw new SpecError("vsock.cid", "must be between 3 and 4294967294 (0-2 are reserved), got " + vsockCid);
        }
        if (socket != null) {
            Check.path("socket", socket);
        }
        if (user != null && !USER.matcher(user).matches()) {
            throw new SpecError("user", "'" + user + "' is not a valid user name");
        }
        if (virtiofsd == null) {
            virtiofsd = Virtiofsd.DEFAULT;
        }
        if (qemuMachine != null) {
            Check.token("qemu.machine", qemuMachine, 64, "machine type");
        }
        Check.optionalPath("qemu.bridgeHelper", qemuBridgeHelper);
        Map<Hypervisor, List<String>> extra = new LinkedHashMap<>();
        if (extraArgs != null) {
            extraArgs.forEach((h, l) -> extra.put(h, Check.strings(h.id() + ".extraArgs", l)));
        }
        extraArgs = Map.copyOf(extra);
        if (preStart != null && preStart.isBlank()) {
            preStart = null;
        }
        if (preStart != null && preStart.indexOf('\0') >= 0) {
            throw new SpecError("preStart", "must not contain a NUL byte");
        }
        Map<String, String> creds = new TreeMap<>();
        if (credentialFiles != null) {
            credentialFiles.forEach((k, v) -> {
                String f = "credentialFiles." + k;
                if (!CREDENTIAL_NAME.matcher(k).matches() || k.equals(".") || k.equals("..")) {
                    throw new SpecError(f, "'" + k.replace("\n", "\\n") + "' is not a credential name (letters, digits, '_', '.', ':', '@', '-')");
                }
                if (k.length() > CREDENTIAL_NAME_MAX) {
                    throw new SpecError(f, "credential names are at most " + CREDENTIAL_NAME_MAX + " bytes (fw_cfg names are at most 55 with the "
                            + CREDENTIAL_PREFIX + " prefix), got " + k.length());
                }
                creds.put(k, Check.path(f, v));
            });
        }
        credentialFiles = Collections.unmodifiableMap(creds);
        devices = nonNull("devices", devices);
        if (machineId != null && !UUID.matcher(machineId).matches()) {
            throw new SpecError("machineId", "'" + machineId + "' is not a UUID like a67472e5-570e-5c8a-b18c-ae3c77701050");
        }
        if (hv == null) {
            hv = HypervisorOptions.DEFAULT;
        }
        Check.optionalPath("extraArgsScript", extraArgsScript);

        // resolve defaults that depend on the VM name
        List<Share> resolvedShares = new ArrayList<>();
        for (Share s : shares) {
            resolvedShares.add(s.proto() == Share.Proto.VIRTIOFS && s.socket() == null
                    ? s.withSocket(name + "-virtiofs-" + s.tag() + ".sock") : s);
        }
        shares = List.copyOf(resolvedShares);
        List<NetInterface> resolvedIfs = new ArrayList<>();
        for (NetInterface n : interfaces) {
            resolvedIfs.add(n.mac() == null ? n.withMac(Identity.macFor(name, n.id())) : n);
        }
        interfaces = List.copyOf(resolvedIfs);

        // uniqueness: disks by serial and image, mounts, tags, interface ids and MACs, sockets
        Map<String, String> serials = new HashMap<>();
        Map<String, String> images = new HashMap<>();
        Map<String, String> mounts = new HashMap<>();
        if (storeDisk != null) {
            serials.put(storeDisk.serial(), "storeDisk.serial");
            images.put(storeDisk.image(), "storeDisk.image");
            mounts.put(writableStoreOverlay != null ? "/nix/.ro-store" : "/nix/store", "storeDisk");
        }
        for (int i = 0; i < volumes.size(); i++) {
            Volume v = volumes.get(i);
            String p = "volumes[" + i + "]";
            unique(serials, v.serial(), p + ".serial", "disk serial",
                    " (derived from the image name; set serial explicitly)");
            unique(images, v.image(), p + ".image", "image", "");
            if (v.mountPoint() != null) {
                unique(mounts, v.mountPoint(), p + ".mountPoint", "mount point", "");
            }
        }
        Map<String, String> tags = new HashMap<>();
        Map<String, String> sockets = new HashMap<>();
        if (socket != null) {
            sockets.put(socket, "socket");
        }
        for (int i = 0; i < shares.size(); i++) {
            Share s = shares.get(i);
            String p = "shares[" + i + "]";
            unique(tags, s.tag(), p + ".tag", "tag", "");
            unique(mounts, s.mountPoint(), p + ".mountPoint", "mount point", "");
            if (s.socket() != null) {
                unique(sockets, s.socket(), p + ".socket", "socket", "");
            }
        }
        Map<String, String> ids = new HashMap<>();
        Map<String, String> macs = new HashMap<>();
        boolean hasUser = false;
        for (int i = 0; i < interfaces.size(); i++) {
            NetInterface n = interfaces.get(i);
            String p = "interfaces[" + i + "]";
            unique(ids, n.id(), p + ".id", "interface id", "");
            unique(macs, n.mac(), p + ".mac", "MAC", "");
            hasUser |= n.type() == NetInterface.Type.USER;
        }
        if (!forwardPorts.isEmpty() && !hasUser) {
            throw new SpecError("forwardPorts", "needs an interface of type user (ports are forwarded by user networking)");
        }
    }

    private static <T> List<T> nonNull(String field, List<T> l) {
        if (l == null) {
            return List.of();
        }
        for (int i = 0; i < l.size(); i++) {
            if (l.get(i) == null) {
                throw new SpecError(field + "[" + i + "]", "must not be null");
            }
        }
        return List.copyOf(l);
    }

    private static void unique(Map<String, String> seen, String value, String field, String what, String hint) {
        String prev = seen.putIfAbsent(value, field);
        if (prev != null) {
            throw new SpecError(field, what + " '" + value + "' is already used by " + prev + hint);
        }
    }

    /** The same VM under another hypervisor. */
    public VmSpec withHypervisor(Hypervisor h) {
        return new VmSpec(name, h, vcpu, mem, kernel, initrd, kernelParams, storeOnDisk, storeDisk, writableStoreOverlay,
                volumes, shares, interfaces, forwardPorts, vsockCid, balloon, socket, user, virtiofsd, qemuMachine, extraArgs,
                hugepageMem, deflateOnOOM, preStart, credentialFiles, devices, machineId, hv, extraArgsScript, qemuBridgeHelper);
    }

    /** The same VM with another kernel path. */
    public VmSpec withKernel(String k) {
        return new VmSpec(name, hypervisor, vcpu, mem, k, initrd, kernelParams, storeOnDisk, storeDisk, writableStoreOverlay,
                volumes, shares, interfaces, forwardPorts, vsockCid, balloon, socket, user, virtiofsd, qemuMachine, extraArgs,
                hugepageMem, deflateOnOOM, preStart, credentialFiles, devices, machineId, hv, extraArgsScript, qemuBridgeHelper);
    }

    /** Extra arguments for the given hypervisor (empty if none). */
    public List<String> extraArgsFor(Hypervisor h) {
        return extraArgs.getOrDefault(h, List.of());
    }

    /** Reads and validates a spec file (see {@link VmSpecReader}). */
    public static VmSpec read(Path file) throws IOException {
        return VmSpecReader.read(file, Events.NONE);
    }
}
