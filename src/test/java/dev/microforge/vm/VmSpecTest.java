package dev.microforge.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class VmSpecTest {
    static VmSpec parse(String json) {
        return VmSpecReader.parse(json.getBytes(StandardCharsets.UTF_8), "vm.json", Events.NONE);
    }

    @Test
    void readsFullSpecWithResolvedDefaults() throws Exception {
        VmSpec s = VmSpec.read(Path.of("src/test/resources/vm/full.json"));
        assertEquals("demo", s.name());
        assertEquals(Hypervisor.QEMU, s.hypervisor());
        assertEquals(2, s.vcpu());
        assertEquals(256, s.mem());
        assertTrue(s.storeOnDisk());
        assertEquals("nix-store", s.storeDisk().serial());
        assertEquals(StoreDisk.Type.EROFS, s.storeDisk().type());
        Volume var = s.volumes().get(0);
        assertEquals("var", var.serial());
        assertTrue(var.autoCreate());
        assertTrue(var.formatsOnCreate());
        Volume zvol = s.volumes().get(1);
        assertTrue(zvol.isBlockDevice());
        assertFalse(zvol.autoCreate(), "block devices are never auto-created");
        assertEquals("demo-data", zvol.serial());
        assertNull(zvol.mountPoint());
        assertEquals("demo-virtiofs-ro-data.sock", s.shares().get(0).socket());
        assertNull(s.shares().get(1).socket());
        assertEquals("02:00:00:00:00:01", s.interfaces().get(1).mac());
        assertEquals(Identity.macFor("demo", "usernet"), s.interfaces().get(0).mac());
        assertEquals(5L, s.vsockCid());
        assertEquals("demo.sock", s.socket());
    }

    @Test
    void defaultsFollowMicrovmNix() {
        VmSpec s = parse("{\"name\":\"a\",\"kernel\":\"/k\",\"shares\":[{\"tag\":\"ro-store\",\"source\":\"/nix/store\",\"mountPoint\":\"/nix/.ro-store\"}]}");
        assertEquals(1, s.vcpu());
        assertEquals(512, s.mem());
        assertEquals(Hypervisor.QEMU, s.hypervisor());
        assertFalse(s.storeOnDisk(), "a /nix/store share means no store disk");
        assertEquals(Share.Proto.NINE_P, s.shares().get(0).proto());
        assertEquals("none", s.shares().get(0).securityModel());
        assertEquals("a.sock", s.socket());
        VmSpec noSocket = parse("{\"name\":\"a\",\"kernel\":\"/k\",\"socket\":null,\"storeOnDisk\":false}");
        assertNull(noSocket.socket());
    }

    @Test
    void microvmNixShapeWithStoreDiskPathAndIgnoredOptions() {
        StringBuilder info = new StringBuilder();
        VmSpec s = VmSpecReader.parse(("{\"name\":\"a\",\"kernel\":\"/nix/store/x-linux\",\"initrdPath\":\"/nix/store/y/initrd\","
                + "\"storeDisk\":\"/nix/store/z-store-disk\",\"storeDiskType\":\"squashfs\",\"storeOnDisk\":true,"
                + "\"optimize\":{\"enable\":true},\"preStart\":\"\",\"devices\":[],\"hotplugMem\":0,"
                + "\"qemu\":{\"machine\":\"microvm\",\"extraArgs\":[\"-x\"],\"serialConsole\":true},"
                + "\"virtiofsd\":{\"threadPoolSize\":\"`nproc`\",\"extraArgs\":[]}}").getBytes(StandardCharsets.UTF_8),
                "vm.json", new Events() {
                    @Override
                    public void warn(String m) {
                        info.append(m);
                    }
                });
        assertEquals(StoreDisk.Type.SQUASHFS, s.storeDisk().type());
        assertEquals("/nix/store/y/initrd", s.initrd());
        assertEquals("microvm", s.qemuMachine());
        assertEquals(List.of("-x"), s.extraArgsFor(Hypervisor.QEMU));
        assertEquals("", info.toString(), "microvm.nix's defaults are accepted silently");
    }

    @Test
    void derivedSerials() {
        assertEquals("var", Identity.serialFor("var.img"));
        assertEquals("data_1", Identity.serialFor("/srv/vm/data 1.raw"));
        assertEquals("demo-data", Identity.serialFor("/dev/zvol/tank/demo-data"));
        String longOne = Identity.serialFor("/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_S467NX0M123456");
        assertEquals(20, longOne.length());
        assertTrue(longOne.startsWith("nvme-Samsun-"), longOne);
        assertEquals(longOne, Identity.serialFor("/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_S467NX0M123456"));
    }

    @Test
    void derivedMacsAreStableLocallyAdministeredUnicast() {
        String mac = Identity.macFor("demo", "eth0");
        assertEquals(mac, Identity.macFor("demo", "eth0"));
        int first = Integer.parseInt(mac.substring(0, 2), 16);
        assertEquals(2, first & 3, mac);
        assertFalse(mac.equals(Identity.macFor("demo", "eth1")));
        assertFalse(mac.equals(Identity.macFor("demo2", "eth0")));
    }

    static final String BASE = "\"name\":\"a\",\"kernel\":\"/k\",\"storeOnDisk\":false";

    static String err(String body) {
        UserError e = assertThrows(UserError.class, () -> parse("{" + BASE + (body.isEmpty() ? "" : "," + body) + "}"));
        return e.getMessage();
    }

    @Test
    void badSpecsNameTheFieldAndFile() {
        String[][] cases = {
            {"\"nmae\":\"b\"", "vm.json: nmae: unknown field (did you mean 'name'?)"},
            {"\"vcpu\":0", "vm.json: vcpu: must be between 1 and 255, got 0"},
            {"\"vcpu\":\"2\"", "vm.json: vcpu: must be an integer, got a string"},
            {"\"vcpu\":1.5", "vm.json: vcpu: must be an integer, got the number 1.5"},
            {"\"mem\":-5", "vm.json: mem: must be between 16 and"},
            {"\"hypervisor\":\"qemuu\"", "vm.json: hypervisor: unknown hypervisor 'qemuu' (did you mean 'qemu'?)"},
            {"\"hypervisor\":\"alioth\"", "not supported by microforge"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":0}]", "vm.json: volumes[0].size: must be between 1"},
            {"\"volumes\":[{\"image\":\"a.img\"}]", "vm.json: volumes[0].size: is required when autoCreate is true"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1},{\"image\":\"b.img\",\"size\":\"big\"}]", "vm.json: volumes[1].size: must be an integer, got a string"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"mountpoint\":\"/x\"}]", "vm.json: volumes[0].mountpoint: unknown field (did you mean 'mountPoint'?)"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"mountPoint\":\"x\"}]", "volumes[0].mountPoint: must be an absolute path"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"serial\":\"123456789012345678901\"}]", "volumes[0].serial: serial '123456789012345678901' is 21 bytes, at most 20"},
            {"\"volumes\":[{\"image\":\"x/a.img\",\"size\":1},{\"image\":\"y/a.img\",\"size\":1}]", "volumes[1].serial: disk serial 'a' is already used by volumes[0].serial (derived from the image name; set serial explicitly)"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"fsType\":\"ext4;rm\"}]", "volumes[0].fsType: 'ext4;rm' is not a file system type"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"autoCreate\":false,\"label\":\"x\"}]", "volumes[0].label: is only applied when"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"direct\":\"yes\"}]", "volumes[0].direct: must be true or false, got a string"},
            {"\"volumes\":{}", "volumes: must be a list of objects, got an object"},
            {"\"volumes\":[3]", "volumes[0]: must be an object, got the integer 3"},
            {"\"shares\":[{\"proto\":\"nfs\",\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\"}]", "shares[0].proto: must be one of [9p, virtiofs], got 'nfs'"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\",\"socket\":\"x.sock\"}]", "shares[0].socket: is only used by virtiofs shares"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"\",\"mountPoint\":\"/m\"}]", "shares[0].source: must not be empty"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\",\"securityModel\":\"mapped-xattr\"}]", "shares[0].securityModel: must be one of"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\"},{\"tag\":\"t\",\"source\":\"/s2\",\"mountPoint\":\"/m2\"}]", "shares[1].tag: tag 't' is already used by shares[0].tag"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"/s\"}]", "shares[0].mountPoint: is required"},
            {"\"interfaces\":[{\"type\":\"tun\",\"id\":\"x\"}]", "interfaces[0].type: must be one of [user, tap, macvtap, bridge], got 'tun' (did you mean 'tap'?)"},
            {"\"interfaces\":[{\"type\":\"tap\",\"id\":\"a-very-long-interface\"}]", "interfaces[0].id: interface name 'a-very-long-interface' is 21 bytes, at most 15"},
            {"\"interfaces\":[{\"type\":\"tap\",\"id\":\"t0\",\"mac\":\"01:00:00:00:00:01\"}]", "interfaces[0].mac: '01:00:00:00:00:01' is a multicast address"},
            {"\"interfaces\":[{\"type\":\"tap\",\"id\":\"t0\",\"mac\":\"zz\"}]", "interfaces[0].mac: 'zz' is not a MAC address"},
            {"\"interfaces\":[{\"type\":\"bridge\",\"id\":\"t0\"}]", "interfaces[0].bridge: is required for an interface of type bridge"},
            {"\"interfaces\":[{\"type\":\"tap\",\"id\":\"t0\",\"bridge\":\"br0\"}]", "interfaces[0].bridge: is only used by interfaces of type bridge"},
            {"\"interfaces\":[{\"type\":\"macvtap\",\"id\":\"t0\"}]", "interfaces[0].macvtap: is required for an interface of type macvtap"},
            {"\"interfaces\":[{\"type\":\"macvtap\",\"id\":\"t0\",\"macvtap\":{\"link\":\"eth0\",\"mode\":\"bogus\"}}]", "interfaces[0].macvtap.mode: must be one of"},
            {"\"interfaces\":[{\"type\":\"tap\",\"id\":\"t0\"},{\"type\":\"tap\",\"id\":\"t0\"}]", "interfaces[1].id: interface id 't0' is already used by interfaces[0].id"},
            {"\"forwardPorts\":[{\"host\":{\"port\":1},\"guest\":{\"port\":2}}]", "forwardPorts: needs an interface of type user"},
            {"\"interfaces\":[{\"type\":\"user\",\"id\":\"u\"}],\"forwardPorts\":[{\"host\":{\"port\":70000},\"guest\":{\"port\":2}}]", "forwardPorts[0].host.port: must be between 1 and 65535, got 70000"},
            {"\"interfaces\":[{\"type\":\"user\",\"id\":\"u\"}],\"forwardPorts\":[{\"proto\":\"sctp\",\"host\":{\"port\":1},\"guest\":{\"port\":2}}]", "forwardPorts[0].proto: must be one of [tcp, udp], got 'sctp'"},
            {"\"vsock\":{\"cid\":2}", "vm.json: vsock.cid: must be between 3 and 4294967294"},
            {"\"vsock\":{\"cdi\":3}", "vm.json: vsock.cdi: unknown field (did you mean 'cid'?)"},
            {"\"balloon\":1", "vm.json: balloon: must be true or false, got the integer 1"},
            {"\"user\":\"bad user\"", "vm.json: user: 'bad user' is not a valid user name"},
            {"\"kernelParams\":\"quiet\"", "vm.json: kernelParams: must be a list of strings, got a string"},
            {"\"kernelParams\":[1]", "vm.json: kernelParams[0]: must be a string, got the integer 1"},
            {"\"devices\":[{\"bus\":\"pci\",\"path\":\"01:00.0\"}]", "vm.json: devices[0].path: '01:00.0' is not a PCI address like 0000:01:00.0"},
            {"\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\",\"cache\":\"sometimes\"}]", "shares[0].cache: must be one of [auto, always, metadata, never], got 'sometimes'"},
            {"\"shares\":[{\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\",\"cache\":\"always\"}]", "shares[0].cache: is the virtiofs caching policy; this share's proto is 9p"},
            {"\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"imageType\":\"vmdk\"}]", "volumes[0].imageType: must be one of [raw, qcow2, vhd, vhdx], got 'vmdk'"},
            {"\"volumes\":[{\"image\":\"a.qcow2\",\"size\":1,\"imageType\":\"qcow2\"}]", "volumes[0].imageType: qcow2 with autoCreate: microforge creates raw images only"},
            {"\"interfaces\":[{\"type\":\"user\",\"id\":\"u\",\"tap\":{\"vhost\":true}}]", "interfaces[0].tap.vhost: is only used by interfaces of type tap (this one is user)"},
            {"\"credentialFiles\":{\"a/b\":\"/x\"}", "vm.json: credentialFiles.a/b: 'a/b' is not a credential name"},
            {"\"credentialFiles\":{\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123\":\"/x\"}", "credentialFiles.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123: credential names are at most 28 bytes"},
            {"\"machineId\":\"not-a-uuid\"", "vm.json: machineId: 'not-a-uuid' is not a UUID"},
            {"\"qemu\":{\"machineOpts\":{\"a\":\"b c\"}}", "qemu.machineOpts.a: option value must be printable ASCII without spaces"},
            {"\"devices\":[{\"bus\":\"isa\",\"path\":\"x\"}]", "vm.json: devices[0].bus: must be one of [pci, usb], got 'isa'"},
            {"\"virtiofsd\":{\"threadPoolSize\":\"many\"}", "vm.json: virtiofsd.threadPoolSize: must be an integer or \"`nproc`\", got a string"},
            {"\"firecracker\":{\"driveIoEngine\":\"Fast\"}", "firecracker.driveIoEngine: must be one of [Async, Sync], got 'Fast'"},
            {"\"storeOnDisk\":true", ""},
        };
        for (String[] c : cases) {
            String body = c[0];
            if (body.contains("storeOnDisk")) {
                UserError e = assertThrows(UserError.class, () -> parse("{\"name\":\"a\",\"kernel\":\"/k\",\"storeOnDisk\":true}"));
                assertEquals("vm.json: storeDisk: is required when storeOnDisk is true (or share the host's /nix/store: a share with source /nix/store)", e.getMessage());
                continue;
            }
            String m = err(body);
            assertTrue(m.startsWith("vm.json: ") && m.contains(c[1]), "for " + body + "\n got: " + m + "\n want: " + c[1]);
            assertFalse(m.contains("\n"), m);
        }
    }

    @Test
    void missingRequiredAndBadJson() {
        assertEquals("vm.json: name: is required", assertThrows(UserError.class, () -> parse("{\"kernel\":\"/k\"}")).getMessage());
        assertEquals("vm.json: kernel: is required", assertThrows(UserError.class, () -> parse("{\"name\":\"a\"}")).getMessage());
        assertTrue(assertThrows(UserError.class, () -> parse("{\"name\":\"a\",\n\"kernel\":}")).getMessage().startsWith("vm.json:2:"));
        assertTrue(assertThrows(UserError.class, () -> parse("{\"name\":\"a\",\"name\":\"b\"}")).getMessage().contains("Duplicate field 'name'"));
        assertEquals("vm.json: must be an object, got a list", assertThrows(UserError.class, () -> parse("[]")).getMessage());
    }

    @Test
    void trailingDataAfterTheSpecIsRefusedWithItsLine() throws Exception {
        String spec = "{\"name\":\"a\",\"kernel\":\"/k\",\"storeOnDisk\":false}\n";
        assertEquals("a", parse(spec + "  \n").name());
        UserError other = assertThrows(UserError.class, () -> parse(spec + "{\"name\":\"other\"}"));
        assertTrue(other.getMessage().startsWith("vm.json:2:") && other.getMessage().contains("more data after"), other.getMessage());
        UserError brackets = assertThrows(UserError.class, () -> parse(spec + "]]]"));
        assertTrue(brackets.getMessage().startsWith("vm.json:2:1: invalid JSON: "), brackets.getMessage());
        Path dir = java.nio.file.Files.createTempDirectory("vmspec");
        try {
            Path file = java.nio.file.Files.writeString(dir.resolve("vm.json"), spec + "{\"name\":\"other\"}");
            for (List<String> args : List.of(List.of("nix", "emit"), List.of("runner"), List.of("preflight"))) {
                List<String> all = new java.util.ArrayList<>(args);
                all.addAll(List.of("--spec", file.toString()));
                if (args.get(0).equals("runner")) {
                    all.addAll(List.of("-o", dir.resolve("u").toString()));
                }
                dev.microforge.testkit.Cli.Result r = dev.microforge.testkit.Cli.run(all.toArray(String[]::new));
                assertEquals(2, r.exitCode(), all + ": " + r.err());
                assertTrue(r.err().startsWith("microforge: " + file + ":2:") && r.err().indexOf('\n') == r.err().length() - 1, r.err());
            }
        } finally {
            try (var w = java.nio.file.Files.walk(dir)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
