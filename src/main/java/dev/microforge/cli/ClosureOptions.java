package dev.microforge.cli;

import dev.microforge.closure.ClosureFormat;
import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.ClosureReader;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/**
 * The closure options shared (as a picocli {@code @Mixin}) by every command that reads a closure:
 * where the graph comes from ({@code --closure FILE} or {@code --from-store ROOT...}), its format, the logical
 * store directory ({@code --store-dir}, the prefix of the paths in the file), and where the store paths are on
 * this machine ({@code --real-store}, like Nix's {@code real} store setting; default: the store directory).
 */
public final class ClosureOptions {
    @Option(names = "--closure", paramLabel = "FILE",
            description = "Closure file: exportReferencesGraph file, closureInfo directory or its registration, "
                    + "nix path-info --json output, or nix-store --dump-db output.")
    Path closure;

    @Option(names = "--closure-format", paramLabel = "FORMAT", defaultValue = "auto",
            converter = FormatConverter.class,
            completionCandidates = FormatCandidates.class,
            description = "Format of --closure: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}, detected from the content).")
    ClosureFormat format = ClosureFormat.AUTO;

    @Option(names = "--from-store", paramLabel = "ROOT", arity = "1..*",
            description = "Read the closure of these roots (store paths or symlinks to them, e.g. ./result) from the local Nix store via nix-store.")
    List<String> fromStore;

    @Option(names = "--store-dir", paramLabel = "DIR", defaultValue = StorePath.DEFAULT_STORE_DIR,
            description = "The logical Nix store directory the closure's paths are in (default: ${DEFAULT-VALUE}).")
    String storeDir = StorePath.DEFAULT_STORE_DIR;

    @Option(names = "--real-store", paramLabel = "DIR",
            description = "Where the store paths (<hash>-<name>) are on this machine, if not in the store directory itself "
                    + "(like Nix's 'real' store setting), e.g. a copied store tree.")
    Path realStore;

    @Option(names = "--allow-empty",
            description = "Accept a closure without store paths (an empty file, [], {}, an empty registration or closureInfo); "
                    + "without it an empty closure is bad input.")
    boolean allowEmpty;

    /** Was a closure source given at all? */
    public boolean given() {
        return closure != null || (fromStore != null && !fromStore.isEmpty());
    }

    /** The validated logical store directory. */
    public String storeDir() {
        try {
            StorePath.parseBaseName(storeDir, "00000000000000000000000000000000-x");
        } catch (IllegalArgumentException e) {
            throw new UserError("--store-dir: " + e.getMessage());
        }
        return storeDir;
    }

    /** The directory on this machine that holds the store paths: {@code --real-store}, else the store directory. */
    public Path realStore() {
        Path p = realStore != null ? realStore : Path.of(storeDir());
        if (!Files.isDirectory(p)) {
            throw new UserError((realStore != null ? "--real-store " : "store directory ") + p + ": no such directory");
        }
        return p;
    }

    /** The closure graph from --closure or --from-store (exactly one of them must be given). */
    public ClosureGraph graph() {
        boolean hasFile = closure != null;
        boolean hasStore = fromStore != null && !fromStore.isEmpty();
        if (hasFile == hasStore) {
            throw new UserError(hasFile ? "give either --closure or --from-store, not both"
                    : "no closure given: use --closure FILE or --from-store ROOT...");
        }
        if (hasStore) {
            if (format != ClosureFormat.AUTO) {
                throw new UserError("--closure-format applies to --closure, not to --from-store");
            }
            return ClosureReader.fromStore(fromStore, storeDir());
        }
        return ClosureReader.nonEmpty(ClosureReader.read(closure, format, storeDir()), allowEmpty);
    }

    /** Was {@code --allow-empty} given? (Other closure files of the command, e.g. a baseline, follow it too.) */
    public boolean allowEmpty() {
        return allowEmpty;
    }

    /** The file given with --closure, or null. */
    public Path closureFile() {
        return closure;
    }

    static final class FormatConverter implements ITypeConverter<ClosureFormat> {
        @Override
        public ClosureFormat convert(String value) {
            return ClosureFormat.parse(value);
        }
    }

    static final class FormatCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(ClosureFormat.values()).map(ClosureFormat::cliName).iterator();
        }
    }
}
