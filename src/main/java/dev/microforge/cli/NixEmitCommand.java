package dev.microforge.cli;

import dev.microforge.nix.Emitter;
import dev.microforge.util.AtomicOutput;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.InputFiles;
import dev.microforge.util.RawNames;
import dev.microforge.vm.VmSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "emit", mixinStandardHelpOptions = true,
        description = {
            "Write the guest NixOS module that matches the runner of a VM spec (--flavor module), or the same VM"
                    + " as microvm.nix options (--flavor microvm).",
            "With --check, write nothing: exit 3 when FILE differs from what would be written (for CI)."
        })
public final class NixEmitCommand implements Callable<Integer> {
    @Option(names = "--spec", required = true, paramLabel = "VM_JSON", description = "The VM spec (docs/vm-spec.md).")
    Path specFile;

    @Option(names = "--flavor", defaultValue = "module", paramLabel = "module|microvm",
            description = "module (default): the guest NixOS module; microvm: microvm.nix microvm.* options.")
    String flavor;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", converter = OutputFileConverter.class, description = "Write here (atomically) instead of stdout.")
    Path output;

    @Option(names = "--check", description = "Compare with FILE (-o) instead of writing it; exit 3 if it differs.")
    boolean check;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec cmd;

    /** Largest file --check reads (an emitted module is a few KiB). */
    static final long MAX_CHECKED_BYTES = 64L << 20;

    @Override
    public Integer call() throws IOException {
        Emitter.Flavor f = switch (flavor) {
            case "module" -> Emitter.Flavor.MODULE;
            case "microvm" -> Emitter.Flavor.MICROVM;
            default -> throw new CommandLine.ParameterException(cmd.commandLine(),
                    "--flavor: expected module or microvm, got '" + flavor + "'");
        };
        if (check && output == null) {
            throw new CommandLine.ParameterException(cmd.commandLine(), "--check needs the file to compare with (-o FILE)");
        }
        if (output != null && !check) {
            AtomicOutput.checkTarget(output);
        }
        VmSpec spec = VmSpec.read(specFile);
        Path name = specFile.getFileName();
        String text = Emitter.emit(spec, f, name == null ? specFile.toString() : name.toString());
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        PrintWriter out = cmd.commandLine().getOut();
        if (check) {
            if (!Files.exists(output)) {
                throw new AuditViolation(output + ": does not exist; run the same command without --check to write it");
            }
            byte[] existing = InputFiles.read(output, MAX_CHECKED_BYTES, "a file nix emit writes");
            String diff = firstDifference(new String(existing, StandardCharsets.UTF_8), text);
            if (diff != null) {
                throw new AuditViolation(output + ": is stale (" + diff + "); run the same command without --check to update it");
            }
            out.println(RawNames.display(output + ": up to date"));
            return 0;
        }
        if (output == null) {
            out.print(text);
            out.flush();
        } else {
            AtomicOutput.write(output, bytes);
        }
        return 0;
    }

    /** "line N differs" / "N lines, expected M", or null when equal. */
    static String firstDifference(String actual, String expected) {
        if (actual.equals(expected)) {
            return null;
        }
        String[] a = actual.split("\n", -1);
        String[] e = expected.split("\n", -1);
        for (int i = 0; i < Math.min(a.length, e.length); i++) {
            if (!a[i].equals(e[i])) {
                return "line " + (i + 1) + " differs: expected '" + e[i].strip() + "'";
            }
        }
        return "has " + (a.length - 1) + " lines, expected " + (e.length - 1);
    }
}
