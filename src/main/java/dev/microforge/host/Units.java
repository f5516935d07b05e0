package dev.microforge.host;

import dev.microforge.runner.Accel;
import dev.microforge.runner.Runner;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import dev.microforge.vm.NetInterface;
import dev.microforge.vm.Share;
import dev.microforge.vm.VmSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The systemd units of one VM on a host (see docs/host.md):
 * <pre>
 * microforge-vm@NAME.service            runs RUNNER/bin/microvm-run, stops with RUNNER/bin/microvm-shutdown
 * microforge-taps@NAME.service          creates (and at stop removes) the tap interfaces, with the runner's flags
 * microforge-macvtaps@NAME.service      creates (and removes) the macvtap interfaces on their links
 * microforge-virtiofsd-TAG@NAME.service one virtiofsd per virtiofs share; the VM is bound to it
 * microforge-vms.target                 the VMs started at boot (enabled VMs are wanted by it)
 * </pre>
 * Ordering: the interfaces and virtiofsd start before the VM and, being ordered before it, stop after it; they are
 * part of the VM unit (stopping or restarting the VM does the same to them); the VM requires its interfaces, the
 * bridges and macvtap links it uses, and is bound to its virtiofsd units (a crashed virtiofsd stops the VM). Every
 * value goes through {@link UnitText}. The runner's own files (tap flags, whether microvm-shutdown exists) come from
 * {@link Runner#generate}, so units and runner cannot disagree.
 */
public final class Units {
    public static final String TARGET = "microforge-vms.target";
    /** microvm-run waits for the sockets of virtiofsd daemons started by these units instead of starting its own. */
    public static final String EXTERNAL_VIRTIOFSD_ENV = "MICROVM_VIRTIOFSD_EXTERNAL";
    public static final String DEFAULT_IP = "/sbin/ip";
    public static final String DEFAULT_VIRTIOFSD = "/usr/lib/qemu/virtiofsd";
    public static final String DEFAULT_SHELL = "/bin/sh";
    static final String STATE_BASE = "/var/lib/";
    /** sun_path holds 108 bytes with the terminating NUL. */
    static final int SOCKET_PATH_MAX = 107;

    /**
     * @param runnerDir     absolute path of the runner directory (a Nix store path, or a symlink such as
     *                      /var/lib/microforge/NAME/current)
     * @param stateDir      absolute working directory of the VM (relative images and sockets of the spec live here),
     *                      also where the {@code booted} link is written; created by systemd when under /var/lib
     * @param ip            the ip(8) binary
     * @param virtiofsd     the virtiofsd binary when the spec does not name one
     * @param virtiofsdStyle the style of {@code virtiofsd}: "c" (QEMU's C virtiofsd: -o source=) or "rust"
     *                      (--shared-dir); null: c for /usr/lib/qemu/virtiofsd, rust otherwise. A spec's own
     *                      virtiofsd.path always gets that rule (see {@link VirtiofsdArgs}).
     * @param shell         a POSIX shell for the two small helper commands (the booted link, stale sockets)
     * @param path          PATH for the units' processes, or null for systemd's default
     */
    public record Options(String runnerDir, String stateDir, String ip, String virtiofsd, String virtiofsdStyle,
                          String shell, String path) {
        public Options {
            UnitText.path("--runner", runnerDir);
            UnitText.path("--state-dir", stateDir);
            runnerDir = strip(runnerDir);
            stateDir = strip(stateDir);
            if (virtiofsdStyle != null && !virtiofsdStyle.equals("c") && !virtiofsdStyle.equals("rust")) {
                throw new UserError("--virtiofsd-style: expected c or rust, got '" + virtiofsdStyle + "'");
            }
        }

        private static String strip(String p) {
            while (p.length() > 1 && p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            return p;
        }

        public static Options defaults(String runnerDir, String vmName) {
            return new Options(runnerDir, "/var/lib/microforge/" + vmName, DEFAULT_IP, DEFAULT_VIRTIOFSD, null, DEFAULT_SHELL, null);
        }
    }

    private Units() {}

    public static String vmUnit(String vm) {
        return "microforge-vm@" + UnitText.namePart(vm) + ".service";
    }

    public static String tapsUnit(String vm) {
        return "microforge-taps@" + UnitText.namePart(vm) + ".service";
    }

    public static String macvtapsUnit(String vm) {
        return "microforge-macvtaps@" + UnitText.namePart(vm) + ".service";
    }

    /** The tag in the prefix, the VM as the instance ('@' in a tag is escaped), so no two shares or VMs collide. */
    public static String virtiofsdUnit(String vm, String tag) {
        return "microforge-virtiofsd-" + UnitText.namePart(tag) + "@" + UnitText.namePart(vm) + ".service";
    }

    /** The unit files (file name to content), sorted by name. Errors name the spec field or the option. */
    public static Map<String, byte[]> generate(VmSpec spec, byte[] specBytes, Accel accel, Options o, Events events) {
        Map<String, byte[]> runner = Runner.generate(spec, specBytes, new Runner.Options(accel, List.of()), events);
        boolean shutdown = runner.containsKey("bin/microvm-shutdown");
        List<String> tapFlags = new String(runner.getOrDefault("share/microvm/tap-flags", new byte[0]), StandardCharsets.UTF_8)
                .lines().filter(s -> !s.isBlank()).toList();
        String name = spec.name();
        String vmUnit = vmUnit(name);
        Map<String, String> units = new TreeMap<>();

        List<NetInterface> taps = spec.interfaces().stream().filter(n -> n.type() == NetInterface.Type.TAP).toList();
        List<NetInterface> macvtaps = spec.interfaces().stream().filter(n -> n.type() == NetInterface.Type.MACVTAP).toList();
        List<Share> virtiofs = spec.shares().stream().filter(s -> s.proto() == Share.Proto.VIRTIOFS).toList();

        List<String> requires = new ArrayList<>();
        List<String> bindsTo = new ArrayList<>();
        List<String> devices = new ArrayList<>();

        if (!taps.isEmpty()) {
            Unit u = helperUnit(name, "tap interfaces", vmUnit);
            u.service("Type", "oneshot").service("RemainAfterExit", "yes");
            for (int i = 0; i < spec.interfaces().size(); i++) {
                NetInterface n = spec.interfaces().get(i);
                if (n.type() != NetInterface.Type.TAP) {
                    continue;
                }
                String f = "interfaces[" + i + "].id";
                List<String> add = new ArrayList<>(List.of("tuntap", "add", "name", n.id(), "mode", "tap"));
                if (spec.user() != null) {
                    add.addAll(List.of("user", spec.user()));
                }
                add.addAll(tapFlags);
                u.service("ExecStartPre", UnitText.exec("-", f, o.ip(), List.of("link", "delete", n.id())));
                u.service("ExecStart", UnitText.exec("", f, o.ip(), add));
                u.service("ExecStart", UnitText.exec("", f, o.ip(), List.of("link", "set", n.id(), "up")));
                u.service("ExecStop", UnitText.exec("-", f, o.ip(), List.of("link", "delete", n.id())));
            }
            environment(u, o);
            units.put(tapsUnit(name), u.render());
            requires.add(tapsUnit(name));
        }
        if (!macvtaps.isEmpty()) {
            Unit u = helperUnit(name, "macvtap interfaces", vmUnit);
            List<String> links = new ArrayList<>();
            for (NetInterface n : macvtaps) {
                String d = UnitText.deviceUnit(n.macvtap().link());
                if (!links.contains(d)) {
                    links.add(d);
                }
            }
            u.unit("Requires", String.join(" ", links)).unit("After", String.join(" ", links));
            u.service("Type", "oneshot").service("RemainAfterExit", "yes");
            for (int i = 0; i < spec.interfaces().size(); i++) {
                NetInterface n = spec.interfaces().get(i);
                if (n.type() != NetInterface.Type.MACVTAP) {
                    continue;
                }
                String f = "interfaces[" + i + "]";
                u.service("ExecStartPre", UnitText.exec("-", f + ".id", o.ip(), List.of("link", "delete", n.id())));
                u.service("ExecStart", UnitText.exec("", f + ".macvtap", o.ip(), List.of("link", "add", "link", n.macvtap().link(),
                        "name", n.id(), "type", "macvtap", "mode", n.macvtap().mode())));
                u.service("ExecStart", UnitText.exec("", f + ".mac", o.ip(), List.of("link", "set", n.id(), "address", n.mac(), "up")));
                u.service("ExecStop", UnitText.exec("-", f + ".id", o.ip(), List.of("link", "delete", n.id())));
            }
            environment(u, o);
            units.put(macvtapsUnit(name), u.render());
            requires.add(macvtapsUnit(name));
        }
        for (NetInterface n : spec.interfaces()) {
            if (n.type() == NetInterface.Type.BRIDGE) {
                String d = UnitText.deviceUnit(n.bridge());
                if (!devices.contains(d)) {
                    devices.add(d);
                }
            }
        }
        for (int i = 0; i < spec.shares().size(); i++) {
            Share s = spec.shares().get(i);
            if (s.proto() != Share.Proto.VIRTIOFS) {
                continue;
            }
            String f = "shares[" + i + "]";
            Unit u = helperUnit(name, "virtiofsd for share " + s.tag(), vmUnit);
            u.unit("After", "local-fs.target");
            u.service("Type", "simple");
            workingDirectory(u, o);
            UnitText.checked(f + ".source", s.source());
            UnitText.checked(f + ".socket", s.socket());
            for (int j = 0; j < spec.virtiofsd().extraArgs().size(); j++) {
                UnitText.checked("virtiofsd.extraArgs[" + j + "]", spec.virtiofsd().extraArgs().get(j));
            }
            for (int j = 0; j < s.extraArgs().size(); j++) {
                UnitText.checked(f + ".extraArgs[" + j + "]", s.extraArgs().get(j));
            }
            String sock = absolute(o.stateDir(), s.socket());
            int len = sock.getBytes(StandardCharsets.UTF_8).length;
            if (len > SOCKET_PATH_MAX) {
                throw new UserError(f + ".socket: share " + s.tag() + ": the virtiofsd socket '" + sock + "' is " + len
                        + " bytes, more than the " + SOCKET_PATH_MAX + " a unix socket address holds; use a shorter socket"
                        + " or --state-dir");
            }
            String src = absolute(o.stateDir(), s.source());
            u.service("ExecStartPre", UnitText.exec("", f + ".socket", o.shell(), List.of("-c", "rm -f -- \"$1\"", "sh", sock)));
            String bin = spec.virtiofsd().path() != null ? spec.virtiofsd().path() : o.virtiofsd();
            List<String> args = VirtiofsdArgs.of(virtiofsdStyle(spec, o), f, sock, src, s, spec.virtiofsd());
            u.service("ExecStart", UnitText.exec("", spec.virtiofsd().path() != null ? "virtiofsd.path" : "--virtiofsd", bin, args));
            u.service("Restart", "no");
            u.service("KillMode", "control-group");
            u.service("TimeoutStopSec", "30");
            u.service("LimitNOFILE", "1048576");
            environment(u, o);
            String unitName = virtiofsdUnit(name, s.tag());
            units.put(unitName, u.render());
            bindsTo.add(unitName);
        }

        Unit vm = new Unit(name);
        vm.unit("Description", UnitText.text("name", "microVM " + name + " (" + spec.hypervisor().id() + ")"));
        List<String> after = new ArrayList<>(List.of("network.target"));
        after.addAll(requires);
        after.addAll(bindsTo);
        after.addAll(devices);
        List<String> req = new ArrayList<>(requires);
        req.addAll(devices);
        if (!req.isEmpty()) {
            vm.unit("Requires", String.join(" ", req));
        }
        if (!bindsTo.isEmpty()) {
            vm.unit("BindsTo", String.join(" ", bindsTo));
        }
        vm.unit("After", String.join(" ", after));
        vm.unit("PartOf", TARGET);
        vm.unit("StartLimitIntervalSec", "120").unit("StartLimitBurst", "5");
        vm.service("Type", "simple");
        workingDirectory(vm, o);
        if (!virtiofs.isEmpty()) {
            // microvm-run and its preflight: the daemons run in their units (the preflight checks their sockets exist
            // and does not probe them: a virtiofsd serves one connection)
            vm.service("Environment", UnitText.env("--runner", EXTERNAL_VIRTIOFSD_ENV, "1"));
        }
        environment(vm, o);
        vm.service("ExecStartPre", UnitText.exec("", "--runner", o.shell(),
                List.of("-c", "ln -sfn -- \"$(readlink -f -- \"$1\")\" booted", "sh", o.runnerDir())));
        vm.service("ExecStart", UnitText.exec("", "--runner", o.runnerDir() + "/bin/microvm-run", List.of()));
        if (shutdown) {
            // the runner that was started stops the VM, even when --runner (a 'current' link) has moved on since
            vm.service("ExecStop", UnitText.exec("", "--state-dir", o.stateDir() + "/booted/bin/microvm-shutdown", List.of()));
        }
        vm.service("ExecStopPost", UnitText.exec("", "--runner", o.shell(), List.of("-c", "rm -f booted")));
        vm.service("KillMode", "control-group");
        vm.service("TimeoutStopSec", "150");
        vm.service("Restart", "always");
        vm.service("RestartSec", "5s");
        vm.service("LimitMEMLOCK", "infinity");
        vm.install("WantedBy", TARGET);
        units.put(vmUnit, vm.render());

        Unit target = new Unit(null);
        target.unit("Description", "microVMs managed by microforge");
        target.install("WantedBy", "multi-user.target");
        units.put(TARGET, target.render());

        Map<String, byte[]> files = new TreeMap<>();
        units.forEach((k, v) -> files.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return files;
    }

    /**
     * The command-line style of the virtiofsd the units run: the spec's own virtiofsd.path is c when it is QEMU's
     * {@value #DEFAULT_VIRTIOFSD} and rust otherwise (--virtiofsd-style describes --virtiofsd only); --virtiofsd
     * has --virtiofsd-style, or the same rule.
     */
    static String virtiofsdStyle(VmSpec spec, Options o) {
        String specPath = spec.virtiofsd().path();
        if (specPath != null) {
            return specPath.equals(DEFAULT_VIRTIOFSD) ? "c" : "rust";
        }
        if (o.virtiofsdStyle() != null) {
            return o.virtiofsdStyle();
        }
        return o.virtiofsd().equals(DEFAULT_VIRTIOFSD) ? "c" : "rust";
    }

    private static Unit helperUnit(String vm, String what, String vmUnit) {
        Unit u = new Unit(vm);
        u.unit("Description", UnitText.text("name", what + " of microVM " + vm));
        u.unit("PartOf", vmUnit).unit("Before", vmUnit);
        return u;
    }

    private static void workingDirectory(Unit u, Options o) {
        u.service("WorkingDirectory", UnitText.path("--state-dir", o.stateDir()));
        String rel = o.stateDir().startsWith(STATE_BASE) ? o.stateDir().substring(STATE_BASE.length()) : "";
        if (rel.matches("[A-Za-z0-9_@:+-][A-Za-z0-9._@:+/-]*") && !rel.contains("/.") && !rel.contains("//")) {
            // systemd creates it; any other directory must exist
            u.service("StateDirectory", rel);
        }
    }

    private static void environment(Unit u, Options o) {
        if (o.path() != null) {
            u.service("Environment", UnitText.env("--path", "PATH", o.path()));
        }
    }

    static String absolute(String base, String p) {
        return p.startsWith("/") ? p : base + "/" + p;
    }

    /** A unit file being assembled: values are already escaped by {@link UnitText}; keys are fixed. */
    static final class Unit {
        private final String vm;
        private final StringBuilder unit = new StringBuilder();
        private final StringBuilder service = new StringBuilder();
        private final StringBuilder install = new StringBuilder();

        Unit(String vm) {
            this.vm = vm;
        }

        Unit unit(String k, String v) {
            unit.append(k).append('=').append(v).append('\n');
            return this;
        }

        Unit service(String k, String v) {
            service.append(k).append('=').append(v).append('\n');
            return this;
        }

        Unit install(String k, String v) {
            install.append(k).append('=').append(v).append('\n');
            return this;
        }

        String render() {
            StringBuilder sb = new StringBuilder("# Generated by microforge units");
            if (vm != null) {
                sb.append(" for VM ").append(UnitText.text("name", vm));
            }
            sb.append("; do not edit (regenerate with microforge units).\n[Unit]\n").append(unit);
            if (!service.isEmpty()) {
                sb.append("\n[Service]\n").append(service);
            }
            if (!install.isEmpty()) {
                sb.append("\n[Install]\n").append(install);
            }
            return sb.toString();
        }
    }
}
