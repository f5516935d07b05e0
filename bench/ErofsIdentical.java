import dev.microforge.fs.Dir;
import dev.microforge.fs.TreeBuilder;
import dev.microforge.image.erofs.ErofsWriter;
import dev.microforge.util.Events;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Writes one EROFS image of a directory through the writer's API (run with the jar under test on the class
 * path): java -cp JAR bench/ErofsIdentical.java DIR OUT COMPRESSION PCLUSTER ZTAIL FRAGMENTS DEDUPE THREADS.
 * The API path covers what the CLI cannot set (dedupe off); label, UUID and mtime are fixed.
 */
public class ErofsIdentical {
    public static void main(String[] a) throws Exception {
        ErofsWriter.Options o = ErofsWriter.Options.defaults()
                .withCompression(ErofsWriter.Compression.parse(a[2]))
                .withPcluster(Integer.parseInt(a[3]))
                .withZtailpacking(Boolean.parseBoolean(a[4]))
                .withFragments(Boolean.parseBoolean(a[5]))
                .withDedupe(Boolean.parseBoolean(a[6]))
                .withThreads(Integer.parseInt(a[7]))
                .withMtime(1)
                .withUuid(a.length > 8 ? UUID.fromString(a[8]) : null);
        ErofsWriter.write((Dir) TreeBuilder.scan(Path.of(a[0])), Path.of(a[1]), o, Events.NONE);
    }
}
