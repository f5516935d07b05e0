package dev.microforge.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Nix settings of the tests, from one file: {@code tests/nix-test.conf} ({@code build-users-group =},
 * {@code sandbox = false}, {@code substituters =}). {@link Exec} passes them as {@code NIX_CONFIG} to every process
 * it runs, so every nix-* call of the tests uses them without touching the host's Nix configuration; shell scripts
 * get the same file through {@code tests/nix-env.sh}, and the CLI run in-process (its {@code --from-store} runs
 * nix-store) through surefire's {@code NIX_USER_CONF_FILES}.
 */
public final class NixEnv {
    private static volatile String config;

    private NixEnv() {}

    /** {@code tests/nix-test.conf}. */
    public static Path configFile() {
        return Tools.projectRoot().resolve("tests/nix-test.conf");
    }

    /** The content of {@link #configFile()}: the value of NIX_CONFIG for every process the tests run. */
    public static String config() {
        String c = config;
        if (c == null) {
            try {
                c = Files.readString(configFile(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("the tests' Nix settings: " + e.getMessage(), e);
            }
            config = c;
        }
        return c;
    }

    /** The environment to add to a process that may run Nix. */
    public static Map<String, String> environment() {
        return Map.of("NIX_CONFIG", config());
    }
}
