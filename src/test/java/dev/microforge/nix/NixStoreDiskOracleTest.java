package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Guest;
import dev.microforge.testkit.Tools;
import dev.microforge.testkit.TreeHash;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mkStoreDisk inside real Nix 2.8 builds: real store paths in, an image out that microforge verifies, the peer
 * tools extract, the 6.1 kernel mounts, and that has no runtime references.
 */
@Tag("oracle")
class NixStoreDiskOracleTest {
    static final Path BUILD = NixIntegrationOracleTest.BUILD;

    @Test
    void squashfsStoreDiskFromARealNixBuild(@TempDir Path tmp) throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(BUILD, List.of("disk-squashfs", "closure", "toplevel", "disk-with-references"), List.of());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        String disk = outs.get(0);
        String closure = outs.get(1);
        String toplevel = outs.get(2);
        String withRefs = outs.get(3);
        List<String> paths = NixIntegrationOracleTest.requisites(toplevel);
        assertEquals(4, paths.size(), paths.toString());

        // reference-free although every hash of the closure is in the image (Nix 2.8: the masked two-step build)
        assertEquals(List.of(), NixIntegrationOracleTest.references(disk));
        List<String> refs = NixIntegrationOracleTest.references(withRefs);
        assertTrue(refs.contains(toplevel), "without masking Nix registers the closure as references: " + refs);

        // microforge's own verify: exactly the closure, every narHash right
        Cli.Result v = Cli.run("image", "verify", disk, "--closure", closure);
        assertEquals(0, v.exitCode(), v.err() + v.out());

        // the peer tool extracts it to the same trees as the store
        Path x = tmp.resolve("x");
        Exec.ok(Tools.require("unsquashfs").toString(), "-q", "-no-xattrs", "-d", x.toString(), disk);
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.assertSame(TreeHash.of(Path.of(p)), TreeHash.of(x.resolve(base)), "unsquashfs " + base);
        }

        // and the real 6.1 kernel mounts it from a virtio disk found by serial, as the emitted module does
        StringBuilder script = new StringBuilder("mount -t squashfs -o ro /dev/disk/by-id/virtio-nix-store /mnt\n");
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            script.append("treehash /mnt/").append(base).append(' ').append(base).append('\n');
        }
        Guest.Report g = Guest.builder().modules("squashfs").disk(Path.of(disk), "nix-store")
                .script(script.toString()).workDir(tmp.resolve("guest")).boot().check();
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.assertSame(TreeHash.of(Path.of(p)), TreeHash.fromGuest(g, base), "guest " + base);
        }
    }
}
