package dev.microforge.runner;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Store disks for boot tests: a small tree with a marker file, as a squashfs image. */
final class StoreDisks {
    private StoreDisks() {}

    static Path squashfs(Path tree, Path image) throws IOException, InterruptedException {
        Files.createDirectories(tree.resolve("abc123-hello/bin"));
        Files.writeString(tree.resolve("marker"), "store-marker-ok\n");
        Files.writeString(tree.resolve("abc123-hello/bin/hello"), "#!/bin/sh\necho hello\n");
        Exec.ok(Tools.require("mksquashfs").toString(), tree.toString(), image.toString(), "-noappend", "-all-root", "-quiet");
        return image;
    }
}
