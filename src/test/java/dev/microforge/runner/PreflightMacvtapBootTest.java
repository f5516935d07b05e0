package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight's macvtap checks (issue 14, item 2) catch real failures. In a private network namespace, three veth pairs
 * each carry a macvtap (bridge mode) on one end and an address on the other: {@code mvok} has the spec's MAC and is up,
 * {@code mvmac} exists with another MAC than the spec's, {@code mvdown} has the spec's MAC but is DOWN. The runner
 * started with --no-preflight (qemu TCG, the Debian kernel) uses the existing interfaces as they are: the guest pings
 * the far end of each veth from the NIC with that interface's MAC; through mvok the replies arrive, through mvmac and
 * mvdown none does (the macvtap accepts only frames for its own MAC; a DOWN link carries nothing), and after the run
 * mvmac still has its old MAC and mvdown is still down. Started with its preflight, microvm-run stops before qemu naming
 * both, and nothing about mvok.
 */
@Tag("oracle")
@Tag("root")
class PreflightMacvtapBootTest {
    static final String[] IDS = {"mvok", "mvmac", "mvdown"};
    static final String[] SPEC_MAC = {"02:00:00:00:00:0a", "02:00:00:00:00:1b", "02:00:00:00:00:0c"};
    static final String[] LINK_MAC = {"02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"};

    @TempDir
    Path tmp;

    @Test
    void macvtapWithAnotherMacOrDownGivesTheGuestNoNetwork() throws Exception {
        PreflightHostTest.requireRoot();
        Tools.require("qemu-system-x86_64");
        Tools.require("ip");
        Kernel kernel = Kernel.requireWith("virtio_net");
        StringBuilder script = new StringBuilder("""
                net() { # ID MAC SUBNET
                  for i in /sys/class/net/eth*; do
                    [ "$(cat $i/address)" = "$2" ] || continue
                    n=${i##*/}; ip addr add 10.9.$3.2/24 dev $n; ip link set $n up
                    if ping -c 2 -w 8 10.9.$3.1 >/tmp/ping-$1 2>&1; then echo "@@PING $1 ok"; else echo "@@PING $1 fail"; fi
                    return
                  done
                  echo "@@PING $1 no-nic"
                }
                """);
        for (int i = 0; i < IDS.length; i++) {
            script.append("net ").append(IDS[i]).append(' ').append(SPEC_MAC[i]).append(' ').append(i).append(" &\n");
        }
        script.append("wait\n");
        Files.write(tmp.resolve("initrd.img"), RunnerBoot.initramfs(kernel, List.of("virtio_pci", "virtio_net"), script.toString(), true));

        ObjectNode spec = RunnerBoot.JSON.createObjectNode();
        spec.put("name", "mvtap");
        spec.put("mem", 256);
        spec.put("kernel", kernel.vmlinuz().toString());
        spec.put("initrd", "initrd.img");
        spec.put("storeOnDisk", false);
        spec.putNull("socket");
        spec.putArray("kernelParams").add("quiet").add("rdinit=/init");
        ArrayNode ifs = spec.putArray("interfaces");
        for (int i = 0; i < IDS.length; i++) {
            ObjectNode n = ifs.addObject().put("type", "macvtap").put("id", IDS[i]).put("mac", SPEC_MAC[i]);
            n.putObject("macvtap").put("link", "p" + i).put("mode", "bridge");
        }
        Path runner = RunnerBoot.generate(tmp, spec);

        String ns = "mfmv" + ProcessHandle.current().pid();
        Exec.ok("ip", "netns", "add", ns);
        try {
            for (int i = 0; i < IDS.length; i++) {
                in(ns, "ip", "link", "add", "p" + i, "type", "veth", "peer", "name", "p" + i + "peer");
                in(ns, "ip", "addr", "add", "10.9." + i + ".1/24", "dev", "p" + i + "peer");
                in(ns, "ip", "link", "set", "p" + i + "peer", "up");
                in(ns, "ip", "link", "set", "p" + i, "up");
                in(ns, "ip", "link", "add", "link", "p" + i, "name", IDS[i], "address", LINK_MAC[i], "type", "macvtap", "mode", "bridge");
                if (!IDS[i].equals("mvdown")) {
                    in(ns, "ip", "link", "set", IDS[i], "up");
                }
            }
            List<String> inNs = List.of("ip", "netns", "exec", ns);

            RunnerBoot.Vm bare = RunnerBoot.start(inNs, runner, tmp, "bare.log", "--no-preflight").await(120);
            String console = bare.console();
            System.out.printf("boot with --no-preflight: %.1f s%n", bare.seconds());
            assertFalse(bare.killed, "the guest did not power off within 120 s:\n" + console);
            assertEquals(0, bare.exitCode(), console);
            assertTrue(console.contains("@@DONE"), console);
            List<String> pings = RunnerBoot.marks(console, "PING").stream().sorted().toList();
            assertEquals(List.of("mvdown fail", "mvmac fail", "mvok ok"), pings, console);
            assertEquals(LINK_MAC[1], in(ns, "cat", "/sys/class/net/mvmac/address").trim(), "microvm-run leaves the MAC of an existing macvtap");
            assertFalse(in(ns, "ip", "-o", "link", "show", "mvdown").contains(",UP"), "microvm-run leaves an existing macvtap down");

            RunnerBoot.Vm checked = RunnerBoot.start(inNs, runner, tmp, "checked.log").await(120);
            String err = checked.console();
            assertFalse(checked.killed, err);
            assertEquals(1, checked.exitCode(), err);
            assertTrue(err.contains("preflight: error: interfaces[1] macvtap mvmac: has MAC 02:00:00:00:00:0b but the VM's is 02:00:00:00:00:1b"), err);
            assertTrue(err.contains("preflight: error: interfaces[2] macvtap mvdown: is DOWN"), err);
            assertFalse(err.contains("macvtap mvok"), err);
            assertTrue(err.contains("microvm-run: preflight failed"), err);
            assertFalse(err.contains("@@BOOTED") || err.lines().anyMatch(l -> l.startsWith("qemu")), "qemu must not start:\n" + err);
        } finally {
            Exec.run(List.of("ip", "netns", "del", ns), null, null, 30);
        }
    }

    static String in(String ns, String... cmd) throws Exception {
        String[] full = new String[cmd.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = ns;
        System.arraycopy(cmd, 0, full, 4, cmd.length);
        return Exec.ok(full).out();
    }
}
