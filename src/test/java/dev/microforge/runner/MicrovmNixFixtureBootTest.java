package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Kernel;
import dev.microforge.testkit.Tools;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner generated from the microvm.nix qemu fixture (src/test/resources/vm/microvm-nix/qemu-full.json, microvm.nix's
 * options.nix evaluated) boots for real under qemu TCG (issue 18). The spec is the fixture with only what cannot exist on
 * this host replaced: the tap, macvtap and bridge interfaces are dropped (the user interface with its MAC and the
 * forwarded port stay, on a free host port instead of 2222), the zvol becomes an ext4 image file, the PCI passthrough
 * device and vsock (no /dev/vhost-vsock here) are dropped, hugepageMem is off (no huge pages reserved here), the
 * microvm machine (hangs under TCG, see PreflightMicrovmMachineBootTest) gives way to the runner's default (q35) with the
 * fixture's machineOpts minus the microvm-only pcie (PreflightMachineOptsBootTest), the 9p source /srv/shared is a
 * directory of the test, the kernel and initrd are the testkit's generic Debian kernel (it has 9p; its bzImage) and a
 * busybox initramfs, and the credentials are the credentials fixture's names with files of the test. Everything else is as evaluated: two vCPUs, 1 GiB, the kernel
 * parameters, both volumes (serial "data"; home.img auto-created at 2 GiB with label home and -m 0), the virtiofs share
 * of the host's /nix/store (cache always, POSIX ACLs) served by the virtiofsd microvm-run starts, the read-only 9p share
 * (mapped), the balloon, the machine id, qemu.extraArgs' virtio keyboard, the QMP socket. The runner starts with its
 * preflight; the guest reports disks by serial, shares, credentials, SMBIOS UUID, devices and answers on the forwarded
 * port; bin/microvm-shutdown (standard input /dev/null) presses the ACPI power button and qemu exits cleanly.
 */
@Tag("oracle")
@Tag("root")
class MicrovmNixFixtureBootTest {
    static final Path FIXTURES = Tools.projectRoot().resolve("src/test/resources/vm/microvm-nix");

    @TempDir
    Path tmp;

    @Test
    void qemuFixtureRunnerBootsAndShutsDown() throws Exception {
        PreflightHostTest.requireRoot(); // the C virtiofsd runs as root
        Tools.require("qemu-system-x86_64");
        Tools.require("mkfs.ext4");
        Tools.require("/usr/lib/qemu/virtiofsd");
        Kernel kernel = Kernel.requireWith("9p", "9pnet_virtio", "virtiofs", "virtio_blk", "virtio_net", "qemu_fw_cfg", "button", "evdev");
        Path work = tmp;

        ObjectNode spec = (ObjectNode) RunnerBoot.JSON.readTree(FIXTURES.resolve("qemu-full.json").toFile());
        JsonNode evaluated = spec.deepCopy();
        // ---- what cannot exist here
        spec.put("kernel", kernel.vmlinuz().toString()); // the bzImage: with PVH (qemuKernel) and pit=off the kernel panics
        spec.put("initrdPath", "initrd.img");
        ArrayNode ifs = RunnerBoot.JSON.createArrayNode();
        spec.get("interfaces").forEach(n -> {
            if (n.get("type").asText().equals("user")) {
                ifs.add(n);
            }
        });
        spec.set("interfaces", ifs);
        int port = QemuBootTest.freePort();
        ((ObjectNode) spec.get("forwardPorts").get(0).get("host")).put("port", port);
        spec.putArray("devices");
        ((ObjectNode) spec.get("vsock")).putNull("cid");
        spec.put("hugepageMem", false);
        ObjectNode qemu = (ObjectNode) spec.get("qemu");
        qemu.putNull("machine");
        ((ObjectNode) qemu.get("machineOpts")).remove("pcie"); // microvm's only: qemu refuses it on q35
        ObjectNode data = (ObjectNode) spec.get("volumes").get(0);
        data.put("image", "vm-data.img");
        ObjectNode ninep = (ObjectNode) spec.get("shares").get(1);
        Path shared = Files.createDirectories(work.resolve("shared"));
        ninep.put("source", shared.toString());
        ObjectNode creds = spec.putObject("credentialFiles");
        Map<String, String> credHash = new TreeMap<>();
        Iterator<String> names = RunnerBoot.JSON.readTree(FIXTURES.resolve("credentials.json").toFile()).get("credentialFiles").fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            byte[] secret = ("secret of " + name + " " + System.nanoTime() + "\n").getBytes(StandardCharsets.UTF_8);
            Path f = work.resolve("cred-" + name);
            Files.write(f, secret);
            creds.put(name, f.toString());
            credHash.put(name, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret)));
        }
        assertEquals(2, credHash.size(), "the credentials fixture has two credentials");
        assertEquals(List.of("credentialFiles", "devices", "forwardPorts", "hugepageMem", "initrdPath", "interfaces", "kernel",
                "qemu", "shares", "volumes", "vsock"), changedFields(evaluated, spec), "only what cannot exist here is replaced");

        // ---- host side of the devices
        Path populate = Files.createDirectories(work.resolve("data-content"));
        String marker = "zvol-standin-" + System.nanoTime();
        Files.writeString(populate.resolve("marker"), marker + "\n");
        Exec.ok("truncate", "-s", "16M", work.resolve("vm-data.img").toString());
        Exec.ok("mkfs.ext4", "-q", "-d", populate.toString(), work.resolve("vm-data.img").toString());
        Files.writeString(shared.resolve("hello.txt"), "nine-pee\n");
        String storeEntry;
        try (var l = Files.list(Path.of("/nix/store"))) {
            storeEntry = l.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().findFirst()
                    .orElseThrow(() -> new AssertionError("/nix/store is empty"));
        }
        String uuid = spec.get("machineId").asText();

        Files.write(work.resolve("initrd.img"), RunnerBoot.initramfs(kernel, List.of("crc32c_generic", "ext4", "virtio_pci", "virtio_blk", "virtio_net",
                "9p", "9pnet_virtio", "virtiofs", "qemu_fw_cfg", "button", "evdev"), """
                ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
                printf '#!/bin/sh\\necho hello-from-guest\\n' > /tmp/hello; chmod +x /tmp/hello
                nc -l -p 22 -e /tmp/hello &
                echo "@@CPUS $(grep -c ^processor /proc/cpuinfo)"
                echo "@@MEM $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)"
                echo "@@UUID $(cat /sys/class/dmi/id/product_uuid)"
                echo "@@VIRTIO $(cat /sys/bus/virtio/devices/*/device | sort | tr '\\n' ' ')"
                echo "@@NIC $(cat /sys/class/net/eth0/address)"
                for b in /sys/block/vd*; do echo "@@DISK $(cat $b/serial) $(cat $b/size)"; done
                mkdir -p /var /home /nix/.ro-store /mnt/shared
                d=$(dev_of data) && mount -t ext4 "$d" /var && echo "@@DATA $(cat /var/marker)"
                h=$(dev_of home) && mount -t ext4 "$h" /home && echo "@@HOME $(dd if=$h bs=1 skip=1144 count=16 2>/dev/null | tr -d '\\0') $(od -An -tu4 -j1032 -N4 $h | tr -d ' ')"
                mount -t virtiofs ro-store /nix/.ro-store && ls -d /nix/.ro-store/STORE_ENTRY >/dev/null && echo "@@STORE STORE_ENTRY"
                mount -t 9p -o trans=virtio,version=9p2000.L,ro shared /mnt/shared && echo "@@9P $(cat /mnt/shared/hello.txt)"
                for c in /sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials/*; do
                  echo "@@CRED ${c##*/} $(sha256sum < $c/raw | cut -d ' ' -f 1)"
                done
                i=0; while ! ls /dev/input/event* >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
                acpid -f -c /etc/acpi -l /tmp/acpid.log &
                sleep 1
                echo "@@READY"
                """.replace("STORE_ENTRY", storeEntry), false));
        Path runner = RunnerBoot.generate(work, spec);

        RunnerBoot.Vm vm = RunnerBoot.start(List.of(), runner, work, "console.log");
        try {
            AtomicReference<String> reply = new AtomicReference<>();
            Thread client = new Thread(() -> reply.set(QemuBootTest.connect(port)));
            client.setDaemon(true);
            client.start();
            boolean ready = vm.awaitConsole("@@READY", 180);
            String console = vm.console();
            System.out.printf("guest ready after %.1f s%n", vm.seconds());
            assertTrue(ready, "the guest did not come up:\n" + console);
            client.join(30000);
            assertEquals(List.of("2"), RunnerBoot.marks(console, "CPUS"), "vcpu");
            long memKb = Long.parseLong(RunnerBoot.marks(console, "MEM").get(0));
            assertTrue(memKb > 900_000 && memKb <= 1024 * 1024, "mem 1024 MiB, guest MemTotal " + memKb + " kB");
            assertEquals(List.of(uuid), RunnerBoot.marks(console, "UUID"), "machineId as the SMBIOS UUID");
            List<String> virtio = List.of(RunnerBoot.marks(console, "VIRTIO").get(0).split(" "));
            assertTrue(virtio.contains("0x0005"), "balloon: " + virtio);
            assertTrue(virtio.contains("0x0012"), "qemu.extraArgs' virtio-keyboard-pci: " + virtio);
            assertEquals(List.of("02:00:00:00:00:04"), RunnerBoot.marks(console, "NIC"), "the user interface's MAC");
            List<String> disks = RunnerBoot.marks(console, "DISK").stream().sorted().toList();
            assertEquals(List.of("data 32768", "home 4194304"), disks, "disks by serial, sizes in 512-byte sectors");
            assertEquals(List.of(marker), RunnerBoot.marks(console, "DATA"), "the zvol stand-in, found by serial data, mounted at /var" + "\n" + console);
            assertEquals(List.of("home 0"), RunnerBoot.marks(console, "HOME"), "home.img auto-created: ext4 label home, no reserved blocks (-m 0)" + "\n" + console);
            assertEquals(List.of(storeEntry), RunnerBoot.marks(console, "STORE"), "the host's /nix/store through virtiofs at /nix/.ro-store" + "\n" + console);
            assertEquals(List.of("nine-pee"), RunnerBoot.marks(console, "9P"), "the 9p share" + "\n" + console);
            List<String> wantCreds = new ArrayList<>();
            credHash.forEach((k, v) -> wantCreds.add(k + " " + v));
            assertEquals(wantCreds, RunnerBoot.marks(console, "CRED").stream().sorted().toList(), "credentials through fw_cfg" + "\n" + console);
            assertEquals("hello-from-guest", reply.get(), "the forwarded port reaches the guest's port 22");
            assertEquals(2L << 30, Files.size(work.resolve("home.img")), "home.img auto-created at 2048 MiB");
            assertFalse(console.contains("preflight: error"), console);

            Path shutdownLog = work.resolve("shutdown.log");
            ProcessBuilder sb = new ProcessBuilder(runner.resolve("bin/microvm-shutdown").toString()).directory(work.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true).redirectOutput(shutdownLog.toFile());
            sb.environment().put("MICROVM_SHUTDOWN_TIMEOUT", "60");
            long t0 = System.nanoTime();
            Process sd = sb.start();
            boolean sdDone = sd.waitFor(90, TimeUnit.SECONDS);
            System.out.printf("microvm-shutdown: %.1f s%n", (System.nanoTime() - t0) / 1e9);
            String sdOut = Files.readString(shutdownLog);
            assertTrue(sdDone, "microvm-shutdown did not return:\n" + sdOut);
            assertEquals(0, sd.exitValue(), "microvm-shutdown failed:\n" + sdOut + "\nconsole:\n" + vm.console());
            assertTrue(vm.process.waitFor(10, TimeUnit.SECONDS), "qemu did not exit");
            assertEquals(0, vm.exitCode(), "microvm-run:\n" + vm.console());
            assertTrue(vm.console().contains("@@POWERBUTTON"), "the guest saw the ACPI power button:\n" + vm.console());
            assertTrue(vm.process.descendants().noneMatch(ProcessHandle::isAlive), "virtiofsd stops with the VM");
        } finally {
            vm.kill();
        }
    }

    /** The top-level fields whose values differ between the two specs, sorted. */
    static List<String> changedFields(JsonNode a, JsonNode b) {
        List<String> out = new ArrayList<>();
        a.fieldNames().forEachRemaining(f -> {
            if (!a.get(f).equals(b.get(f))) {
                out.add(f);
            }
        });
        b.fieldNames().forEachRemaining(f -> {
            if (!a.has(f)) {
                out.add(f);
            }
        });
        return out.stream().sorted().toList();
    }
}
