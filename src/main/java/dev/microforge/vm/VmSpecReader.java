package dev.microforge.vm;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.microforge.util.Events;
import dev.microforge.util.InputFiles;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a VM spec from JSON (the shape of {@code builtins.toJSON config.microvm} plus {@code name}). Strict: unknown
 * fields are errors with a did-you-mean, every wrong type, range or combination is one line naming the file and the
 * field path (e.g. {@code vm.json: volumes[1].size: must be between 1 and ... MiB, got 0}).
 */
public final class VmSpecReader {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    /**
     * microvm.nix options microforge accepts (so a whole {@code config.microvm} can be given) but does not use.
     * Those whose non-default value would change the VM are rejected instead, see {@link #checkIgnored}.
     */
    static final Set<String> IGNORED = Set.of("guest", "optimize", "cpu", "preStart", "hugepageMem", "hotplugMem",
            "hotpluggedMem", "initialBalloonMem", "deflateOnOOM", "devices", "graphics", "prettyProcnames", "runner",
            "declaredRunner", "binScripts", "storeDiskErofsFlags", "storeDiskSquashfsFlags", "systemSymlink",
            "stratovirt", "alioth");

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
            throw new UserError(source + where + ": invalid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
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
                    s.bool("readOnly", false), s.str("socket", null, false), s.str("securityModel", "none", true))));
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
                if (o.has("storeDiskType")) {
                    throw new SpecError("storeDiskType", "give the type inside storeDisk (storeDisk.type) when storeDisk is an object");
                }
                String type = d.str("type", null, true);
                storeDisk = d.build(() -> new StoreDisk(d.str("image", null, true), StoreDisk.Type.of(type, "type"), d.str("serial", null, false)));
                d.finish(Set.of());
            }
        } else {
            o.known.add("storeDisk");
            o.str("storeDiskType", null, false);
        }
        String overlay = o.str("writableStoreOverlay", null, false);

        List<Volume> volumes = new ArrayList<>();
        for (Obj v : o.objects("volumes")) {
            String image = v.str("image", null, true);
            boolean block = image.startsWith("/dev/");
            volumes.add(v.build(() -> new Volume(image, v.integerOrNull("size"), v.str("mountPoint", null, false),
                    v.str("fsType", "ext4", true), v.bool("autoCreate", !block) && !block, v.str("serial", null, false),
                    v.bool("readOnly", false), v.bool("direct", false), v.str("label", null, false), v.strings("mkfsExtraArgs"))));
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
            NetInterface.Macvtap fmv = mv;
            interfaces.add(n.build(() -> new NetInterface(type, n.str("id", null, true), n.str("mac", null, false),
                    n.str("bridge", null, false), fmv)));
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
        Long cid = null;
        if (o.has("vsock") && !o.isNull("vsock")) {
            Obj vs = o.object("vsock");
            cid = vs.longOrNull("cid");
            vs.finish(Set.of());
        } else {
            o.known.add("vsock");
        }
        boolean balloon = o.bool("balloon", false);
        String socket = o.has("socket") ? o.str("socket", null, false) : name + ".sock";
        String user = o.str("user", null, false);

        VmSpec.Virtiofsd vfsd = VmSpec.Virtiofsd.DEFAULT;
        if (o.has("virtiofsd") && !o.isNull("virtiofsd")) {
            Obj v = o.object("virtiofsd");
            vfsd = v.build(() -> new VmSpec.Virtiofsd(v.str("path", null, false), v.strings("extraArgs")));
            v.finish(Set.of("inodeFileHandles", "threadPoolSize"));
        } else {
            o.known.add("virtiofsd");
        }
        String machine = null;
        Map<Hypervisor, List<String>> extra = new EnumMap<>(Hypervisor.class);
        for (Hypervisor h : Hypervisor.values()) {
            if (o.has(h.id()) && !o.isNull(h.id())) {
                Obj x = o.object(h.id());
                List<String> args = x.strings("extraArgs");
                if (!args.isEmpty()) {
                    extra.put(h, args);
                }
                if (h == Hypervisor.QEMU) {
                    machine = x.str("machine", null, false);
                    x.finish(Set.of("serialConsole", "machineOpts"));
                } else if (h == Hypervisor.CROSVM) {
                    x.finish(Set.of("pivotRoot"));
                } else {
                    x.finish(Set.of());
                }
            } else {
                o.known.add(h.id());
            }
        }
        checkIgnored(o);
        List<String> ignored = new ArrayList<>();
        for (String k : o.keys()) {
            if (IGNORED.contains(k)) {
                ignored.add(k);
            }
        }
        o.finish(IGNORED);
        if (!ignored.isEmpty()) {
            events.warn("ignored microvm.nix options (not used by microforge): " + String.join(", ", ignored));
        }
        String fm = machine;
        int fvcpu = vcpu;
        int fmem = mem;
        boolean fsod = storeOnDisk;
        StoreDisk fsd = storeDisk;
        Long fcid = cid;
        VmSpec.Virtiofsd fv = vfsd;
        return o.build(() -> new VmSpec(name, hv, fvcpu, fmem, kernel, initrd, kernelParams, fsod, fsd, overlay,
                volumes, shares, interfaces, forwards, fcid, balloon, socket, user, fv, fm, extra));
    }

    /** microvm.nix options microforge cannot honour: accepted at their defaults only. */
    private static void checkIgnored(Obj o) {
        JsonNode n = o.node;
        if (n.has("devices") && n.get("devices").isArray() && n.get("devices").size() > 0) {
            throw new SpecError("devices", "PCI/USB passthrough is not supported by microforge");
        }
        for (String k : List.of("hotplugMem", "hotpluggedMem", "initialBalloonMem")) {
            if (n.has(k) && n.get(k).isNumber() && n.get(k).asLong() != 0) {
                throw new SpecError(k, "memory hotplug and initial balloon size are not supported by microforge; remove it or set 0");
            }
        }
        if (n.has("graphics") && n.get("graphics").path("enable").asBoolean(false)) {
            throw new SpecError("graphics.enable", "graphics are not supported by microforge runners");
        }
        if (n.has("cpu") && !n.get("cpu").isNull()) {
            throw new SpecError("cpu", "CPU model selection is not supported by microforge; remove it");
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
        <T> T build(java.util.function.Supplier<T> ctor) {
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
            return v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        }
    }

}
