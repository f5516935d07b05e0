package dev.microforge.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.Cli;
import dev.microforge.testkit.Tools;
import java.nio.file.Path;

/** Store disks for boot tests: the embedded example closure (tests/example), built by microforge image build. */
final class StoreDisks {
    static final Path EXAMPLE = Tools.projectRoot().resolve("tests/example");
    /** A store path of the example whose bin/hello prints the greeting message. */
    static final String HELLO = "/nix/store/zkalm3jkbpm14789wqxi72gbicq35yhc-example-hello-1.0/bin/hello";
    static final String MESSAGE = "tests/example/store/6j37g4zr61c7i805w27i17986kvp5bjj-example-greeting-1.0/share/greeting/message";

    private StoreDisks() {}

    /** {@code type} is squashfs or erofs. */
    static Path build(String type, Path image) {
        Cli.Result r = Cli.run("image", "build", "--type", type, "--closure", EXAMPLE.resolve("closure.json").toString(),
                "--real-store", EXAMPLE.resolve("store").toString(), "-o", image.toString());
        assertEquals(0, r.exitCode(), "microforge image build: " + r.err());
        return image;
    }
}
