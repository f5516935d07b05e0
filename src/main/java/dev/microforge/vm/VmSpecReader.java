package dev.microforge.vm;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.util.Events;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Reads a VM spec from JSON (the shape of {@code builtins.toJSON config.microvm} plus {@code name}). Strict: unknown
 * fields are errors with a did-you-mean, every wrong type, range or combination is one line naming the file and the
 * field path (e.g. {@code vm.json: volumes[1].size: must be between 1 and ... MiB, got 0}).
 */
public final class VmSpecReader {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    /**
     * microvm.nix options microforge reads but does not need, with why they do not matter to microforge's runner and
     * module. They are accepted whatever their value; {@code warnUnless} (when not null) is the value microvm.nix
     * defaults to, and another value gets a warning with the reason.
     */
    record Ignored(String warnUnless, String why) {}

    static final Map<String, Ignored> IGNORED = Map.ofEntries(
            Map.entry("guest", new Ignored("{\"enable\":true}", "it switches microvm.nix's own guest module, which microforge's replaces")),
            Map.entry("optimize", new Ignored("{\"enable\":true}", "it tunes the guest's NixOS configuration in microvm.nix's module (documentation, networkd, initrd), not the runner")),
            Map.entry("prettyProcnames", new Ignored("true", "it only sets the hypervisor's process name")),
            Map.entry("registerClosure", new Ignored(null, "the guest loads the registration from the regInfo= kernel parameter, already in kernelParams")),
            Map.entry("storeDiskErofsFlags", new Ignored(null, "mkfs.erofs flags of microvm.nix's store disk build; microforge's image build has its own options")),
            Map.entry("storeDiskSquashfsFlags", new Ignored(null, "gensquashfs flags of microvm.nix's store disk build; microforge's image build has its own options")),
            Map.entry("systemSymlink", new Ignored(null, "a symlink in microvm.nix's runner package for its microvm command")),
            Map.entry("runner", new Ignored(null, "microvm.nix's generated runners")),
            Map.entry("declaredRunner", new Ignored(null, "microvm.nix's generated runner")),
            Map.entry("binScripts", new Ignored(null, "script snippets of microvm.nix's runner package")),
            Map.entry("vmHostPackages", new Ignored(null, "the package set of microvm.nix's runners")),
            Map.entry("stratovirt", new Ignored(null, "options of a hypervisor microforge does not run")),
            Map.entry("alioth", new Ignored(null, "options of a hypervisor microforge does not run")),
            Map.entry("vfkit", new Ignored(null, "options of a hypervisor microforge does not run")),
            Map.entry("kvmtool", new Ignored(null, "only its package, which microforge's runner takes from PATH")),
            Map.entry("bootDisk", new Ignored(null, "a disk image microvm.nix builds for hypervisors without direct kernel boot; microforge's all boot the kernel directly")),
            Map.entry("deploy", new Ignored(null, "microvm.nix's deployment scripts")));

    /** Options microvm.nix removed (mkRemovedOptionModule), with microvm.nix's own reason. */
    static final Map<String, String> REMOVED = Map.of(
            "balloonMem", "The balloonMem option has been removed and replaced by the boolean option balloon");

    /** Largest spec file read (a spec is a few KiB; this only bounds memory). */
    public static final long MAX_SPEC_BYTES = 16L << 20;

    private VmSpecReader() {}

    public static VmSpec read(Path file, Events events) throws IOException {
        return parse(InputFiles.read(file, MAX_SPEC_BYTES, "a VM spec"), file.toString(), events);
    }

    /** Parses JSON text; {@code source} names it in errors. */
    public static VmSpec parse(byte[] json, String source, Events events) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc != null ? ":" + loc.getLineNr() + ":" + loc.getColumnNr() : "";
            String what = e.getOriginalMessage().startsWith("Trailing token")
                    ? "more data after the spec's JSON object (one spec per file)"
                    : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new UserError(source + where + ": invalid JSON: " + what);
        } catch (IOException e) {
            throw new UserError(source + ": cannot read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new UserError(source + ": empty file, expected a JSON object");
        }
        try {
            return spec(new Obj(root, ""), events);
        } catch (SpecError e) {
            throw new UserError(source + ": " + e.getMessage());
        }
    }

    private static VmSpec spec(Obj o, Events events) {
        for (Map.Entry<String, String> r : REMOVED.entrySet()) {
            if (o.has(r.getKey())) {
                throw new SpecError(r.getKey(), "no longer has any effect in microvm.nix; please remove it (" + r.getValue() + ")");
            }
        }
        String name = o.str("name", null, true);
        Hypervisor hv = o.has("hypervisor") ? Hypervisor.of(o.str("hypervisor", null, true), "hypervisor") : Hypervisor.QEMU;
        int vcpu = o.integer("vcpu", 1);
        int mem = o.integer("mem", 512);
        String kernel = o.str("kernel", null, true);
        if (o.has("initrd") && o.has("initrdPath")) {
            throw new SpecError("initrdPath", "give either initrd or initrdPath, not both");
        }
        String initrd = o.has("initrdPath") ? o.str("initrdPath", null, false) : o.str("initrd", null, false);
        List<String> kernelParams = o.strings("kernelParams");

        List<Share> shares = new ArrayList<>();
        List<Obj> shareObjs = o.objects("shares");
        for (Obj s : shareObjs) {
            shares.add(s.build(() -> new Share(
                    s.has("proto") ? Share.Proto.of(s.str("proto", null, true), "proto") : Share.Proto.NINE_P,
                    s.str("tag", null, true), s.str("source", null, true), s.str("mountPoint", null, true),
                    s.bool("readOnly", false), s.str("socket", null, false), s.str("securityModel", "none", true),
                    s.str("cache", "auto", true), s.bool("posixAcl", false), s.strings("extraArgs"))));
            s.finish(Set.of());
        }
        boolean storeOnDisk = o.has("storeOnDisk") ? o.bool("storeOnDisk", true)
                : shares.stream().noneMatch(s -> s.source().equals("/nix/store"));
        StoreDisk storeDisk = null;
        if (o.has("storeDisk") && !o.isNull("storeDisk")) {
            JsonNode sd = o.node.get("storeDisk");
            if (sd.isTextual()) {
                o.known.add("storeDisk");
                String type = o.str("storeDiskType", null, false);
                if (type == null) {
                    throw new SpecError("storeDiskType", "is required when storeDisk is a path (erofs or squashfs)");
                }
                StoreDisk.Type t = StoreDisk.Type.of(type, "storeDiskType");
                storeDisk = o.build(() -> new StoreDisk(sd.asText(), t, null));
            } else {
                Obj d = o.object("storeDisk");
                if (o.has("storeDiskType") && !o.isNull("storeDiskType")) {
                    throw new SpecError("storeDiskType", "give the type inside storeDisk (storeDisk.type) when storeDisk is an object");
                }
                o.known.add("storeDiskType");
                String type = d.str("type", null, true);
                storeDisk = d.build(() -> new StoreDisk(d.str("image", null, true), StoreDisk.Type.of(type, "type"), d.str("serial", null, false),
                        d.str("compression", null, false)));
                d.finish(Set.of());
            }
        } else {
            o.known.add("storeDisk");
            String type = o.str("storeDiskType", null, false);
            if (type != null) {
                StoreDisk.Type.of(type, "storeDiskType");
            }
        }
        String overlay = o.str("writableStoreOverlay", null, false);

        List<Volume> volumes = new ArrayList<>();
        for (Obj v : o.objects("volumes")) {
            String image = v.str("image", null, true);
            boolean block = image.startsWith("/dev/");
            if (block && v.has("autoCreate") && !v.isNull("autoCreate") && v.bool("autoCreate", false)) {
                events.warn("volumes[" + volumes.size() + "].autoCreate: ignored for block device " + image
                        + " (a block device is never created, resized or formatted)");
            }
            volumes.add(v.build(() -> new Volume(image, v.integerOrNull("size"), v.str("mountPoint", null, false),
                    v.str("fsType", "ext4", true), v.bool("autoCreate", !block) && !block, v.str("serial", null, false),
                    v.bool("readOnly", false), v.bool("direct", false), v.str("label", null, false), v.strings("mkfsExtraArgs"),
                    v.str("imageType", "raw", true))));
            v.finish(Set.of());
        }
        List<NetInterface> interfaces = new ArrayList<>();
        for (Obj n : o.objects("interfaces")) {
            NetInterface.Type type = n.build(() -> NetInterface.Type.of(n.str("type", null, true), "type"));
            NetInterface.Macvtap mv = null;
            if (n.has("macvtap") && !n.isNull("macvtap")) {
                Obj m = n.object("macvtap");
                if (type == NetInterface.Type.MACVTAP) {
                    mv = m.build(() -> new NetInterface.Macvtap(m.str("link", null, true), m.str("mode", null, true)));
                } else if (m.node.size() > 0) {
                    throw new SpecError("macvtap", "is only used by interfaces of type macvtap (this one is " + type + ")").within(n.path);
                }
                m.finish(Set.of());
            } else {
                n.known.add("macvtap");
            }
            boolean vhost = false;
            if (n.has("tap") && !n.isNull("tap")) {
                Obj t = n.object("tap");
                vhost = t.bool("vhost", false);
                t.finish(Set.of());
            } else {
                n.known.add("tap");
            }
            NetInterface.Macvtap fmv = mv;
            boolean fvhost = vhost;
            interfaces.add(n.build(() -> new NetInterface(type, n.str("id", null, true), n.str("mac", null, false),
                    n.str("bridge", null, false), fmv, fvhost)));
            n.finish(Set.of());
        }
        List<ForwardPort> forwards = new ArrayList<>();
        for (Obj f : o.objects("forwardPorts")) {
            Obj h = f.object("host");
            Obj g = f.object("guest");
            ForwardPort.Endpoint he = h.build(() -> new ForwardPort.Endpoint(h.str("address", "", true), h.integer("port", null)));
            ForwardPort.Endpoint ge = g.build(() -> new ForwardPort.Endpoint(g.str("address", "", true), g.integer("port", null)));
            h.finish(Set.of());
            g.finish(Set.of());
            forwards.add(f.build(() -> new ForwardPort(f.str("from", "host", true), f.str("proto", "tcp", true), he, ge)));
            f.finish(Set.of());
        }
        List<Device> devices = new ArrayList<>();
        for (Obj d : o.objects("devices")) {
            String qid = null;
            String qbus = null;
            String qextra = null;
            if (d.has("qemu") && !d.isNull("qemu")) {
                Obj q = d.object("qemu");
                qid = q.str("id", null, false);
                qbus = q.str("bus", null, false);
                qextra = q.str("deviceExtraArgs", null, false);
                q.finish(Set.of());
            } else {
                d.known.add("qemu");
            }
            // microvm.nix before the qemu sub-options had deviceExtraArgs at the top
            if (d.has("deviceExtraArgs") && !d.isNull("deviceExtraArgs")) {
                if (qextra != null) {
                    throw new SpecError(d.field("deviceExtraArgs"), "give either deviceExtraArgs or qemu.deviceExtraArgs");
                }
                qextra = d.str("deviceExtraArgs", null, false);
            } else {
                d.known.add("deviceExtraArgs");
            }
            String fid = qid;
            String fbus = qbus;
            String fextra = qextra;
            devices.add(d.build(() -> new Device(d.str("bus", null, true), d.str("path", null, true), fid, fbus, fextra)));
            d.finish(Set.of());
        }
        Long cid = null;
        if (o.has("vsock") && !o.isNull("vsock")) {
            Obj vs = o.object("vsock");
            cid = vs.longOrNull("cid");
            if (vs.has("ssh") && !vs.isNull("ssh")) {
                Obj ssh = vs.object("ssh");
                if (ssh.bool("enable", false)) {
                    events.warn("microvm.nix option not used by microforge: vsock.ssh.enable (sshd on vsock is set up by"
                            + " microvm.nix's guest module; enable it in the guest configuration)");
                }
                ssh.finish(Set.of());
            } else {
                vs.known.add("ssh");
            }
            vs.finish(Set.of());
        } else {
            o.known.add("vsock");
        }
        boolean balloon = o.bool("balloon", false);
        String socket = o.has("socket") ? o.str("socket", null, false) : name + ".sock";
        String user = o.str("user", null, false);
        boolean hugepageMem = o.bool("hugepageMem", false);
        boolean deflateOnOOM = o.bool("deflateOnOOM", true);
        String preStart = o.str("preStart", null, false);
        String machineId = o.str("machineId", null, false);
        Map<String, String> credentials = new TreeMap<>();
        if (o.has("credentialFiles") && !o.isNull("credentialFiles")) {
            Obj c = o.object("credentialFiles");
            for (String k : c.keys()) {
                credentials.put(k, c.str(k, null, true));
            }
        } else {
            o.known.add("credentialFiles");
        }
        refuseUnsupported(o);
        String extraArgsScript = o.str("extraArgsScript", null, false);

        VmSpec.Virtiofsd vfsd = VmSpec.Virtiofsd.DEFAULT;
        if (o.has("virtiofsd") && !o.isNull("virtiofsd")) {
            Obj v = o.object("virtiofsd");
            String ifh = v.str("inodeFileHandles", null, false);
            Integer threads = null;
            JsonNode tp = v.node.get("threadPoolSize");
            v.known.add("threadPoolSize");
            if (tp != null && !tp.isNull() && !(tp.isTextual() && tp.asText().equals("`nproc`"))) {
                if (!tp.isIntegralNumber()) {
                    throw new SpecError(v.field("threadPoolSize"), "must be an integer or \"`nproc`\", got " + Obj.kind(tp));
                }
                threads = v.integerOrNull("threadPoolSize");
            }
            String group = v.str("group", null, false);
            Integer fthreads = threads;
            vfsd = v.build(() -> new VmSpec.Virtiofsd(v.str("path", null, false), v.strings("extraArgs"),
                    "prefer".equals(ifh) ? null : ifh, fthreads, "kvm".equals(group) ? null : group));
            v.finish(Set.of("package"));
        } else {
            o.known.add("virtiofsd");
        }
        String machine = null;
        String bridgeHelper = null;
        Map<String, String> machineOpts = null;
        boolean serialConsole = true;
        List<PcieRootPort> rootPorts = new ArrayList<>();
        List<String> oem = List.of();
        String pivotRoot = null;
        ObjectNode fcCpu = null;
        String fcEngine = "Async";
        ObjectNode fcExtra = null;
        Map<Hypervisor, List<String>> extra = new EnumMap<>(Hypervisor.class);
        for (Hypervisor h : Hypervisor.values()) {
            if (!o.has(h.id()) || o.isNull(h.id())) {
                o.known.add(h.id());
                continue;
            }
            Obj x = o.object(h.id());
            List<String> args = h == Hypervisor.KVMTOOL && !x.has("extraArgs") ? List.of() : x.strings("extraArgs");
            if (!args.isEmpty()) {
                extra.put(h, args);
            }
            switch (h) {
                case QEMU -> {
                    machine = x.str("machine", null, false);
                    bridgeHelper = x.str("bridgeHelper", null, false);
                    if (x.has("machineOpts") && !x.isNull("machineOpts")) {
                        Obj mo = x.object("machineOpts");
                        machineOpts = new TreeMap<>();
                        for (String k : mo.keys()) {
                            machineOpts.put(k, mo.str(k, null, true));
                        }
                    } else {
                        x.known.add("machineOpts");
                    }
                    serialConsole = x.bool("serialConsole", true);
                    for (Obj p : x.objects("pcieRootPorts")) {
                        rootPorts.add(p.build(() -> new PcieRootPort(p.str("id", null, true), p.str("bus", null, false),
                                p.integerOrNull("chassis"), p.str("slot", null, false), p.str("addr", null, false))));
                        p.finish(Set.of());
                    }
                }
                case CLOUD_HYPERVISOR -> oem = x.strings("platformOEMStrings");
                case CROSVM -> pivotRoot = x.str("pivotRoot", null, false);
                case FIRECRACKER -> {
                    fcEngine = x.str("driveIoEngine", "Async", true);
                    fcCpu = jsonObject(x, "cpu");
                    if (fcCpu != null) {
                        throw new SpecError("firecracker.cpu", "is not supported by microforge (firecracker reads a custom CPU template from a file);"
                                + " write the template to a file and set firecracker.extraConfig.\"cpu-config\" to its path");
                    }
                    fcExtra = jsonObject(x, "extraConfig");
                }
                case KVMTOOL -> { }
            }
            x.finish(Set.of("package"));
        }
        Map<String, String> fmo = machineOpts;
        boolean fsc = serialConsole;
        List<String> foem = oem;
        String fpr = pivotRoot;
        var fcpu = fcCpu;
        String feng = fcEngine;
        var fext = fcExtra;
        VmSpec.HypervisorOptions hvo = o.build(() -> new VmSpec.HypervisorOptions(fmo, fsc, rootPorts, foem, fpr, fcpu, feng, fext));
        List<String> warnings = new ArrayList<>();
        for (String k : o.keys()) {
            Ignored ig = IGNORED.get(k);
            if (ig != null && ig.warnUnless() != null && !o.node.get(k).equals(parseJson(ig.warnUnless()))) {
                warnings.add(k + " (" + ig.why() + ")");
            }
        }
        o.finish(IGNORED.keySet());
        for (String w : warnings) {
            events.warn("microvm.nix option not used by microforge: " + w);
        }
        String fm = machine;
        String fbh = bridgeHelper;
        int fvcpu = vcpu;
        int fmem = mem;
        boolean fsod = storeOnDisk;
        StoreDisk fsd = storeDisk;
        Long fcid = cid;
        VmSpec.Virtiofsd fv = vfsd;
        VmSpec.HypervisorOptions fhvo = hvo;
        return o.build(() -> new VmSpec(name, hv, fvcpu, fmem, kernel, initrd, kernelParams, fsod, fsd, overlay,
                volumes, shares, interfaces, forwards, fcid, balloon, socket, user, fv, fm, extra,
                hugepageMem, deflateOnOOM, preStart, credentials, devices, machineId, fhvo, extraArgsScript, fbh));
    }

    private static JsonNode parseJson(String s) {
        try {
            return MAPPER.readTree(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JSON object option (null, absent or {} give null). */
    private static ObjectNode jsonObject(Obj x, String key) {
        x.known.add(key);
        JsonNode v = x.node.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw new SpecError(x.field(key), "must be an object, got " + Obj.kind(v));
        }
        return (ObjectNode) v;
    }

    /**
     * microvm.nix options microforge cannot honour: accepted at their defaults (and null, empty), refused otherwise
     * with the reason. Reads them, so {@link Obj#finish} knows them.
     */
    private static void refuseUnsupported(Obj o) {
        for (String k : List.of("hotplugMem", "hotpluggedMem", "initialBalloonMem")) {
            Long v = o.longOrNull(k);
            if (v != null && v != 0) {
                throw new SpecError(k, "memory hotplug (virtio-mem) and an initial balloon size are not supported by microforge's runners; remove it or set 0");
            }
        }
        if (o.has("graphics") && !o.isNull("graphics")) {
            Obj g = o.object("graphics");
            if (g.bool("enable", false)) {
                throw new SpecError("graphics.enable", "graphics are not supported by microforge runners (they start headless, the console on the serial port)");
            }
            g.finish(Set.of("backend", "socket", "vulkan", "hostmem", "crosvmPackage"));
        } else {
            o.known.add("graphics");
        }
        String cpu = o.str("cpu", null, false);
        if (cpu != null) {
            throw new SpecError("cpu", "emulating another CPU ('" + cpu + "') is not supported by microforge (its runners start the host's architecture); remove it");
        }
        if (o.bool("registerWithMachined", false)) {
            throw new SpecError("registerWithMachined", "microforge's runners do not register with systemd-machined; set it to false");
        }
    }

    /** A JSON object being read: tracks the path for errors and which keys were used. */
    static final class Obj {
        final JsonNode node;
        final String path;
        final Set<String> known = new TreeSet<>();

        Obj(JsonNode node, String path) {
            this.node = node;
            this.path = path;
            if (!node.isObject()) {
                throw new SpecError(path, "must be an object, got " + kind(node));
            }
        }

        String field(String key) {
            return path.isEmpty() ? key : path + "." + key;
        }

        boolean has(String key) {
            return node.has(key);
        }

        boolean isNull(String key) {
            return node.has(key) && node.get(key).isNull();
        }

        List<String> keys() {
            List<String> l = new ArrayList<>();
            node.fieldNames().forEachRemaining(l::add);
            return l;
        }

        /** Runs a record constructor; its errors get this object's path. */
        <T> T build(Supplier<T> ctor) {
            try {
                return ctor.get();
            } catch (SpecError e) {
                throw e.field().startsWith(path) && !path.isEmpty() ? e : e.within(path);
            }
        }

        String str(String key, String def, boolean nonNull) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null) {
                if (def == null && nonNull) {
                    throw new SpecError(field(key), "is required");
                }
                return def;
            }
            if (v.isNull()) {
                if (nonNull) {
                    throw new SpecError(field(key), "must be a string, got null");
                }
                return null;
            }
            if (!v.isTextual()) {
                throw new SpecError(field(key), "must be a string, got " + kind(v));
            }
            return v.asText();
        }

        boolean bool(String key, boolean def) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null) {
                return def;
            }
            if (!v.isBoolean()) {
                throw new SpecError(field(key), "must be true or false, got " + kind(v));
            }
            return v.asBoolean();
        }

        int integer(String key, Integer def) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null) {
                if (def == null) {
                    throw new SpecError(field(key), "is required");
                }
                return def;
            }
            Integer i = integerOrNull(key);
            if (i == null) {
                throw new SpecError(field(key), "must be an integer, got null");
            }
            return i;
        }

        Integer integerOrNull(String key) {
            Long l = longOrNull(key);
            if (l == null) {
                return null;
            }
            if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
                throw new SpecError(field(key), "is out of range: " + l);
            }
            return l.intValue();
        }

        Long longOrNull(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isIntegralNumber()) {
                throw new SpecError(field(key), "must be an integer, got " + kind(v));
            }
            if (!v.canConvertToLong()) {
                throw new SpecError(field(key), "is out of range: " + v.asText());
            }
            return v.asLong();
        }

        List<String> strings(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw new SpecError(field(key), "must be a list of strings, got " + kind(v));
            }
            List<String> l = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                if (!v.get(i).isTextual()) {
                    throw new SpecError(field(key) + "[" + i + "]", "must be a string, got " + kind(v.get(i)));
                }
                l.add(v.get(i).asText());
            }
            return l;
        }

        Obj object(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null) {
                throw new SpecError(field(key), "is required");
            }
            return new Obj(v, field(key));
        }

        List<Obj> objects(String key) {
            known.add(key);
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw new SpecError(field(key), "must be a list of objects, got " + kind(v));
            }
            List<Obj> l = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                l.add(new Obj(v.get(i), field(key) + "[" + i + "]"));
            }
            return l;
        }

        /** Fails on the first key that was not read (and is not in {@code ignored}), suggesting the closest known one. */
        void finish(Set<String> ignored) {
            for (String k : keys()) {
                if (!known.contains(k) && !ignored.contains(k)) {
                    throw new SpecError(field(k), "unknown field" + DidYouMean.suggest(k, known));
                }
            }
        }

        static String kind(JsonNode v) {
            if (v.isTextual()) {
                return "a string";
            }
            if (v.isBoolean()) {
                return "a boolean";
            }
            if (v.isIntegralNumber()) {
                return "the integer " + v.asText();
            }
            if (v.isNumber()) {
                return "the number " + v.asText();
            }
            if (v.isArray()) {
                return "a list";
            }
            if (v.isObject()) {
                return "an object";
            }
            if (v.isNull()) {
                return "null";
            }
            return v.getNodeType().toString().toLowerCase(Locale.ROOT);
        }
    }

}
