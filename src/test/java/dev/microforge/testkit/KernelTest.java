package dev.microforge.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Module resolution on a fake modules tree: dependency order, built-ins, name normalization, compressed modules. */
class KernelTest {
    @TempDir
    Path tmp;

    @Test
    void resolvesDependenciesAndDecompressesModules() throws Exception {
        Path md = Files.createDirectories(tmp.resolve("lib/modules/6.1.0-test"));
        byte[] elf = "\u007fELF fake module".getBytes(StandardCharsets.ISO_8859_1);
        Files.createDirectories(md.resolve("kernel/a"));
        ByteArrayOutputStream xz = new ByteArrayOutputStream();
        try (OutputStream o = new XZOutputStream(xz, new LZMA2Options())) {
            o.write(elf);
        }
        Files.write(md.resolve("kernel/a/top-mod.ko.xz"), xz.toByteArray());
        Files.write(md.resolve("kernel/a/mid.ko.zst"), com.github.luben.zstd.Zstd.compress(elf));
        Files.write(md.resolve("kernel/a/base.ko"), elf);
        Files.writeString(md.resolve("modules.dep"), String.join("\n",
                "kernel/a/top-mod.ko.xz: kernel/a/mid.ko.zst kernel/a/base.ko",
                "kernel/a/mid.ko.zst: kernel/a/base.ko",
                "kernel/a/base.ko:", ""));
        Files.writeString(md.resolve("modules.builtin"), "kernel/fs/ext4/ext4.ko\n");
        Kernel k = Kernel.at(tmp.resolve("vmlinuz-6.1.0-test"), md, "6.1.0-test");
        assertEquals(List.of("base", "mid", "top_mod"), k.loadOrder(List.of("top-mod", "ext4", "mid")));
        assertTrue(k.isBuiltin("ext4") && k.has("ext4") && !k.isModule("ext4"));
        assertTrue(k.has("top_mod") && k.has("top-mod"));
        assertFalse(k.has("9p"));
        assertArrayEquals(elf, k.moduleBytes("top_mod"), "xz");
        assertArrayEquals(elf, k.moduleBytes("mid"), "zstd");
        assertArrayEquals(elf, k.moduleBytes("base"), "plain");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> k.loadOrder(List.of("9p")));
        assertTrue(e.getMessage().contains("'9p'") && e.getMessage().contains("6.1.0-test"), e.getMessage());
    }

    /**
     * The bzImage payloads QEMU boots by PVH instead: the generic 6.1 kernel's XZ and the 6.12 cloud kernel's
     * zstd payload both decompress to an x86-64 ELF of the size the bzImage declares.
     */
    @Test
    @org.junit.jupiter.api.Tag("oracle")
    void bzImagePayloadsDecompressToTheElf() throws Exception {
        for (Kernel k : List.of(Kernel.requireWith("9p"), Kernel.require(Kernel.Series.LTS_6_12))) {
            boolean xz = "y".equals(k.config("KERNEL_XZ"));
            assertTrue(xz || "y".equals(k.config("KERNEL_ZSTD")), k.version() + ": XZ or zstd bzImage");
            byte[] bz = Files.readAllBytes(k.vmlinuz());
            byte[] elf = Kernel.payloadElf(bz, xz);
            assertTrue(elf != null && elf.length > 10 << 20, k.version() + ": payload is an ELF");
            assertEquals(62, (elf[18] & 0xff) | (elf[19] & 0xff) << 8, k.version() + ": e_machine x86-64");
            assertTrue(k.qemuKernel().getFileName().toString().startsWith("microforge-vmlinux-"), k.qemuKernel().toString());
            assertArrayEquals(elf, Files.readAllBytes(k.qemuKernel()), k.version() + ": the cached vmlinux");
        }
    }
}
