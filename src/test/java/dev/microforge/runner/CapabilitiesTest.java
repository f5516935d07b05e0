package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import dev.microforge.vm.Hypervisor;
import dev.microforge.vm.VmSpec;
import dev.microforge.vm.VmSpecReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CapabilitiesTest {
    static VmSpec spec(String body) {
        return VmSpecReader.parse(("{\"name\":\"c\",\"kernel\":\"/k\",\"storeOnDisk\":false" + (body.isEmpty() ? "" : "," + body) + "}")
                .getBytes(StandardCharsets.UTF_8), "vm.json", Events.NONE);
    }

    static String error(Hypervisor h, Accel a, String body) {
        return assertThrows(UserError.class, () -> Capabilities.of(h).check(spec(body), a, Events.NONE)).getMessage();
    }

    @Test
    void docsShowTheMatrixFromCode() throws IOException {
        String doc = Files.readString(Tools.projectRoot().resolve("docs/hypervisors.md"));
        assertTrue(doc.contains("<!-- BEGIN capability-matrix (generated from runner.Capabilities) -->\n" + Capabilities.markdownTable()
                + "<!-- END capability-matrix -->"), "docs/hypervisors.md must embed Capabilities.markdownTable() exactly:\n"
                + Capabilities.markdownTable());
    }

    @Test
    void unsupportedFeaturesNameFeatureFieldAndHypervisor() {
        String virtiofs = "\"shares\":[{\"proto\":\"virtiofs\",\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\"}]";
        String ninep = "\"shares\":[{\"proto\":\"9p\",\"tag\":\"t\",\"source\":\"/s\",\"mountPoint\":\"/m\"}]";
        assertEquals("shares[0].proto: firecracker does not support virtiofs shares; supported by: qemu, cloud-hypervisor, crosvm",
                error(Hypervisor.FIRECRACKER, Accel.KVM, virtiofs));
        assertEquals("shares[0].proto: firecracker does not support 9p shares; supported by: qemu, crosvm, kvmtool",
                error(Hypervisor.FIRECRACKER, Accel.KVM, ninep));
        assertEquals("shares[0].proto: kvmtool does not support virtiofs shares; supported by: qemu, cloud-hypervisor, crosvm",
                error(Hypervisor.KVMTOOL, Accel.KVM, virtiofs));
        assertEquals("shares[0].proto: cloud-hypervisor does not support 9p shares; supported by: qemu, crosvm, kvmtool",
                error(Hypervisor.CLOUD_HYPERVISOR, Accel.KVM, ninep));
        assertEquals("interfaces[0].type: firecracker does not support user (SLiRP) networking; supported by: qemu, kvmtool",
                error(Hypervisor.FIRECRACKER, Accel.KVM, "\"interfaces\":[{\"type\":\"user\",\"id\":\"u\"}]"));
        assertEquals("interfaces[0].type: firecracker does not support macvtap interfaces; supported by: qemu, cloud-hypervisor, crosvm, kvmtool",
                error(Hypervisor.FIRECRACKER, Accel.KVM, "\"interfaces\":[{\"type\":\"macvtap\",\"id\":\"m\",\"macvtap\":{\"link\":\"e\",\"mode\":\"vepa\"}}]"));
        assertEquals("interfaces[0].type: crosvm does not support bridge interfaces (qemu-bridge-helper); supported by: qemu",
                error(Hypervisor.CROSVM, Accel.KVM, "\"interfaces\":[{\"type\":\"bridge\",\"id\":\"b\",\"bridge\":\"br0\"}]"));
        assertEquals("--accel tcg: cloud-hypervisor does not support software emulation (--accel tcg); supported by: qemu",
                error(Hypervisor.CLOUD_HYPERVISOR, Accel.TCG, ""));
        assertEquals("user: crosvm does not support switching user (user); supported by: qemu",
                error(Hypervisor.CROSVM, Accel.KVM, "\"user\":\"vm\""));
        assertEquals("volumes[0].serial: firecracker does not support disk serials; supported by: qemu, cloud-hypervisor, crosvm",
                error(Hypervisor.FIRECRACKER, Accel.KVM, "\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"serial\":\"mine\"}]"));
        assertEquals("volumes[0].direct: firecracker does not support direct (O_DIRECT) disks; supported by: qemu, cloud-hypervisor, crosvm, kvmtool",
                error(Hypervisor.FIRECRACKER, Accel.KVM, "\"volumes\":[{\"image\":\"a.img\",\"size\":1,\"direct\":true}]"));
        assertEquals("forwardPorts: kvmtool does not support forwardPorts; supported by: qemu",
                error(Hypervisor.KVMTOOL, Accel.KVM, "\"interfaces\":[{\"type\":\"user\",\"id\":\"u\"}],\"forwardPorts\":[{\"host\":{\"port\":1},\"guest\":{\"port\":2}}]"));
        StringBuilder five = new StringBuilder("\"volumes\":[");
        for (int i = 0; i < 5; i++) {
            five.append(i == 0 ? "" : ",").append("{\"image\":\"v").append(i).append(".img\",\"size\":1}");
        }
        assertEquals("volumes: kvmtool supports at most 4 disks, this VM has 5", error(Hypervisor.KVMTOOL, Accel.KVM, five + "]"));
        assertEquals("socket: firecracker needs an API socket; set socket (default NAME.sock) instead of null",
                error(Hypervisor.FIRECRACKER, Accel.KVM, "\"socket\":null"));
    }

    @Test
    void derivedSerialsOnlyWarnWhereSerialsCannotBeSet() {
        List<String> warnings = new ArrayList<>();
        Capabilities.of(Hypervisor.KVMTOOL).check(spec("\"volumes\":[{\"image\":\"a.img\",\"size\":1}]"), Accel.KVM, new Events() {
            @Override
            public void warn(String m) {
                warnings.add(m);
            }
        });
        assertEquals(List.of("kvmtool cannot set disk serials: the guest sees the volumes in spec order (/dev/vda is volumes[0]), "
                + "not at /dev/disk/by-id/virtio-SERIAL"), warnings);
    }

    @Test
    void optionSyntaxLimitsAreErrors() {
        VmSpec s = spec("\"volumes\":[{\"image\":\"a,b.img\",\"size\":1}]");
        assertEquals("volumes[0].image: 'a,b.img' contains ',', which cloud-hypervisor's option syntax cannot carry; rename it",
                assertThrows(UserError.class, () -> Runner.generate(s.withHypervisor(Hypervisor.CLOUD_HYPERVISOR), new byte[0],
                        new Runner.Options(Accel.KVM, List.of()), Events.NONE)).getMessage());
        // qemu escapes it instead
        Runner.generate(s, new byte[0], new Runner.Options(Accel.TCG, List.of()), Events.NONE);
        assertEquals("vcpu: firecracker supports at most 32 vcpus, got 33", assertThrows(UserError.class,
                () -> Runner.generate(spec("\"vcpu\":33").withHypervisor(Hypervisor.FIRECRACKER), new byte[0],
                        new Runner.Options(Accel.KVM, List.of()), Events.NONE)).getMessage());
    }
}
