package dev.microforge.cli;

import dev.microforge.util.JsonPretty;
import dev.microforge.util.Tasks;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.microforge.store.HashPool;
import dev.microforge.store.Nar;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "hash", mixinStandardHelpOptions = true,
        description = {"Print the narHash and narSize of each PATH (what 'nix path-info' would register for it).",
            "Text: one line per path, '<narHash> <narSize> <path>'. JSON: [{\"path\",\"narHash\",\"narSize\"}].",
            "Paths are hashed in parallel on --threads; a thread with no path left takes over the SHA-256 of a running one."})
public final class NarHashCommand implements Runnable {
    enum HashFormat { sri, nix32, base16 }

    @Parameters(paramLabel = "PATH", arity = "1..*", description = "Files, directories or symlinks (symlinks are not followed).")
    List<Path> paths;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Option(names = "--hash-format", defaultValue = "sri",
            description = "Hash notation: sri (sha256-<base64>, as nix path-info --json), nix32 (sha256:<nix32>), base16 (default: ${DEFAULT-VALUE}).")
    HashFormat hashFormat;

    @Mixin
    ThreadsOption threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        for (Path p : paths) {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new UserError(p + ": no such file or directory");
            }
        }
        Terminal term = Terminal.forStderr(spec.commandLine().getErr());
        int n = threads.count();
        List<Nar.Info> infos;
        try {
            term.start("hashing", -1);
            infos = HashPool.run(HashPool.inOrder(paths.size()), n, (i, helpers) -> Nar.hash(paths.get(i), null, term, helpers));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            term.finish("hashing");
        }
        var out = spec.commandLine().getOut();
        if (format == OutputFormat.json) {
            out.print(json(infos));
        } else {
            for (int i = 0; i < paths.size(); i++) {
                out.println(infos.get(i).narHash().format(hashFormat.name()) + " " + infos.get(i).narSize() + " "
                        + RawNames.display(RawNames.bytes(paths.get(i))));
            }
        }
        out.flush();
    }

    private String json(List<Nar.Info> infos) {
        StringWriter sw = new StringWriter();
        try (JsonGenerator j = new JsonFactory().createGenerator(sw)) {
            j.setPrettyPrinter(JsonPretty.printer());
            j.writeStartArray();
            for (int i = 0; i < paths.size(); i++) {
                j.writeStartObject();
                j.writeStringField("path", RawNames.text(RawNames.bytes(paths.get(i))));
                j.writeStringField("narHash", infos.get(i).narHash().format(hashFormat.name()));
                j.writeNumberField("narSize", infos.get(i).narSize());
                j.writeEndObject();
            }
            j.writeEndArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return sw + "\n";
    }

}
