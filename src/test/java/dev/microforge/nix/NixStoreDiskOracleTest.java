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
 * mkStoreDisk inside real Nix 2.8 builds: real store paths in, images out that microforge verifies, the peer
 * tools extract, the 6.1 kernel mounts, and that have no runtime references.
 */
@Tag("oracle")
class NixStoreDiskOracleTest {
    static final Path BUILD = NixIntegrationOracleTest.BUILD;

    @Test
    void storeDisksFromRealNixBuilds(@TempDir Path tmp) throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(BUILD,
                List.of("disk-erofs", "disk-squashfs", "closure", "toplevel", "disk-with-references"), List.of());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        String erofs = outs.get(0);
        String squashfs = outs.get(1);
        String closure = outs.get(2);
        String toplevel = outs.get(3);
        String withRefs = outs.get(4);
        List<String> paths = NixIntegrationOracleTest.requisites(toplevel);
        assertEquals(4, paths.size(), paths.toString());

        // reference-free although every hash of the closure is in the images (Nix 2.8: the masked two-step
        // build; erofs through structured attributes, squashfs through the plain exportReferencesGraph file)
        assertEquals(List.of(), NixIntegrationOracleTest.references(erofs));
        assertEquals(List.of(), NixIntegrationOracleTest.references(squashfs));
        List<String> refs = NixIntegrationOracleTest.references(withRefs);
        assertTrue(refs.contains(toplevel), "without masking Nix registers the closure as references: " + refs);

        // microforge's own verify: exactly the closure, every narHash right
        for (String disk : List.of(erofs, squashfs)) {
            Cli.Result v = Cli.run("image", "verify", disk, "--closure", closure);
            assertEquals(0, v.exitCode(), disk + ": " + v.err() + v.out());
        }

        // the peer tools extract them to the same trees as the store
        Path sx = tmp.resolve("sx");
        Exec.ok(Tools.require("unsquashfs").toString(), "-q", "-no-xattrs", "-d", sx.toString(), squashfs);
        Path ex = tmp.resolve("ex");
        Exec.ok(Tools.require("fsck.erofs").toString(), "--extract=" + ex, erofs);
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.Manifest expected = TreeHash.of(Path.of(p));
            TreeHash.assertSame(expected, TreeHash.of(sx.resolve(base)), "unsquashfs " + base);
            TreeHash.assertSame(expected, TreeHash.of(ex.resolve(base)), "fsck.erofs " + base);
        }
        // the label the emitted module mounts erofs store disks by
        Exec.Result label = Exec.ok(Tools.require("blkid").toString(), "-o", "value", "-s", "LABEL", erofs);
        assertEquals("nix-store", label.out().strip());

        // and the real 6.1 kernel mounts both from virtio disks found by serial
        StringBuilder script = new StringBuilder("mkdir -p /e /s\n"
                + "mount -t erofs -o ro /dev/disk/by-id/virtio-ero /e\n"
                + "mount -t squashfs -o ro /dev/disk/by-id/virtio-nix-store /s\n");
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            script.append("treehash /e/").append(base).append(" e-").append(base).append('\n');
            script.append("treehash /s/").append(base).append(" s-").append(base).append('\n');
        }
        Guest.Report g = Guest.builder().modules("erofs", "squashfs")
                .disk(Path.of(erofs), "ero").disk(Path.of(squashfs), "nix-store")
                .script(script.toString()).workDir(tmp.resolve("guest")).boot().check();
        for (String p : paths) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.Manifest expected = TreeHash.of(Path.of(p));
            TreeHash.assertSame(expected, TreeHash.fromGuest(g, "e-" + base), "guest erofs " + base);
            TreeHash.assertSame(expected, TreeHash.fromGuest(g, "s-" + base), "guest squashfs " + base);
        }
    }
}
