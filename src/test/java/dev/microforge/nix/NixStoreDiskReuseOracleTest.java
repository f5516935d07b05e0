package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import dev.microforge.testkit.TreeHash;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mkStoreDisk { previous = ...; } inside real Nix 2.8 builds: the squashfs and erofs store disks rebuilt from
 * an earlier one (image build --reuse) are the same bytes as the earlier one of the same closure, and
 * unsquashfs / fsck.erofs extract the store paths from them.
 */
@Tag("oracle")
class NixStoreDiskReuseOracleTest {
    @Test
    void previousGivesTheSameDisk(@TempDir Path tmp) throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(NixIntegrationOracleTest.BUILD,
                List.of("disk-squashfs-structured", "disk-squashfs-reuse", "toplevel"), List.of());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        String fresh = outs.get(0);
        String reused = outs.get(1);
        assertFalse(fresh.equals(reused), "two derivations");
        assertFalse(r.stderr().contains("microforge: warning"), r.stderr());
        assertArrayEquals(Files.readAllBytes(Path.of(fresh)), Files.readAllBytes(Path.of(reused)));
        Path sx = tmp.resolve("sx");
        Exec.ok(Tools.require("unsquashfs").toString(), "-q", "-no-xattrs", "-d", sx.toString(), reused);
        for (String p : NixIntegrationOracleTest.requisites(outs.get(2))) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.assertSame(TreeHash.of(Path.of(p)), TreeHash.of(sx.resolve(base)), "unsquashfs " + base);
        }
    }

    /** The same for erofs (lz4hc): fsck.erofs 1.5 extracts the store paths from the rebuilt disk. */
    @Test
    void previousGivesTheSameErofsDisk(@TempDir Path tmp) throws Exception {
        Exec.Result r = NixTestSupport.nixBuild(NixIntegrationOracleTest.BUILD, List.of("disk-erofs", "disk-erofs-reuse", "toplevel"), List.of());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> outs = NixTestSupport.lines(r.stdout());
        String fresh = outs.get(0);
        String reused = outs.get(1);
        assertFalse(fresh.equals(reused), "two derivations");
        assertFalse(r.stderr().contains("microforge: warning"), r.stderr());
        assertArrayEquals(Files.readAllBytes(Path.of(fresh)), Files.readAllBytes(Path.of(reused)));
        Path x = tmp.resolve("x");
        Exec.ok(Tools.require("fsck.erofs").toString(), "--extract=" + x, reused);
        for (String p : NixIntegrationOracleTest.requisites(outs.get(2))) {
            String base = Path.of(p).getFileName().toString();
            TreeHash.assertSame(TreeHash.of(Path.of(p)), TreeHash.of(x.resolve(base)), "fsck.erofs " + base);
        }
    }
}
