package dev.microforge.runner;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a hypervisor generator contributes to the runner directory: the command that starts the VM (shell words,
 * possibly referring to variables microvm-run sets: {@code share}, {@code aio}, {@code macvtap_fd_N},
 * {@code macvtap_dev_N}), extra files under {@code share/microvm/}, and the body of {@code microvm-shutdown}
 * (null when the hypervisor cannot shut the guest down cleanly).
 */
public record Plan(List<Shell.Word> command, Map<String, byte[]> shareFiles, String shutdownScript) {
    public Plan {
        command = List.copyOf(command);
        shareFiles = Collections.unmodifiableMap(new TreeMap<>(shareFiles));
    }
}
