package dev.microforge.cli;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.Registration;
import dev.microforge.fs.Reproducible;
import dev.microforge.image.ImageBuild;
import dev.microforge.image.ImageFormats;
import dev.microforge.image.ImageOptions;
import dev.microforge.util.AtomicOutput;
import dev.microforge.util.DeviceOutput;
import dev.microforge.util.RawNames;
import dev.microforge.util.Sizes;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "build", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Build a store-disk image of a closure: one root entry per store path, reproducible bytes "
                + "(uid/gid 0, one mtime: SOURCE_DATE_EPOCH or 0, Nix's modes, names sorted by bytes).",
            "Nothing is left at -o unless the whole image was written."})
public final class ImageBuildCommand implements Callable<Integer> {
    @Option(names = "--type", required = true, paramLabel = "TYPE", completionCandidates = Types.class,
            description = "Image type: ${COMPLETION-CANDIDATES}.")
    String type;

    @Mixin
    ClosureOptions closure;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", converter = OutputFileConverter.class, description = "The image file to write (replaces only a regular file).")
    Path output;

    @Option(names = "--to-device", paramLabel = "DEV", description = "Write the image onto this block device instead "
            + "(symlinks such as /dev/zvol/POOL/VOL followed): refused when DEV is mounted, held or too small; the image is "
            + "built in the temporary directory (--temp-dir) first, so DEV is written only with a whole image.")
    Path toDevice;

    @Option(names = "--temp-dir", paramLabel = "DIR", description = "With --to-device: where the image is built first "
            + "(default: $TMPDIR, else /tmp); it must have at least the device's size free.")
    Path tempDir;

    @Option(names = "--compression", paramLabel = "C",
            description = "squashfs: zstd (default), xz, gzip, lz4, none; erofs: lz4hc (default), lz4, none.")
    String compression;

    @Option(names = "--level", paramLabel = "N", description = "Compression level (default: the compressor's usual default).")
    Integer level;

    @Option(names = "--block-size", paramLabel = "SIZE", description = "squashfs data block size, 4K to 1M (default 128K).")
    String blockSize;

    @Mixin
    ThreadsOption threads;

    @Option(names = "--registration", paramLabel = "NAME",
            description = "Add a file NAME at the image root in closureInfo 'registration' format (for nix-store --load-db).")
    String registration;

    @Option(names = "--pcluster", paramLabel = "SIZE", description = "erofs: physical cluster size for compressed data, "
            + "4K (default) to 1M; above 4K: big pclusters (mkfs.erofs -C SIZE).")
    String pcluster;

    @Option(names = "--label", paramLabel = "LABEL", description = "erofs: volume label (default nix-store).")
    String label;

    @Option(names = "--uuid", paramLabel = "UUID", description = "erofs: volume UUID (default: derived from the content).")
    String uuid;

    @Option(names = "--tail-packing", negatable = true,
            description = "erofs: inline a compressed file's last pcluster after its indexes (mkfs.erofs -Eztailpacking; "
                    + "default off); squashfs: pack tails of files larger than a block into fragments (default on).")
    Boolean tailPacking;

    @Option(names = "--fragments", negatable = true,
            description = "squashfs: fragment blocks for small files and tails (default on); erofs: tails and small "
                    + "files compressed together in the packed inode (mkfs.erofs -Efragments; default off).")
    Boolean fragments;

    @Option(names = "--xz-bcj", paramLabel = "WHEN",
            description = "squashfs xz: the x86 BCJ filter before LZMA2 (mksquashfs -Xbcj x86): auto (default: blocks "
                    + "that look like x86 machine code), x86 (every block), none (as mksquashfs without -Xbcj).")
    String xzBcj;

    @Option(names = "--reuse", paramLabel = "OLD",
            description = "An earlier image of the same type; its store paths with the same narHash and options are copied "
                    + "instead of compressed again. The image is byte for byte the one built without --reuse.")
    Path reuse;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static final class Types implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ImageFormats.types().iterator();
        }
    }

    @Override
    public Integer call() throws Exception {
        ImageFormats.byType(type);
        if ((output == null) == (toDevice == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give exactly one of -o OUT and --to-device DEV");
        }
        Path buildDir = null;
        if (output != null) {
            if (tempDir != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--temp-dir goes with --to-device only");
            }
            AtomicOutput.checkTarget(output);
        } else {
            long size = DeviceOutput.check(toDevice);
            buildDir = buildDir(size);
        }
        if (registration != null && (registration.isEmpty() || registration.contains("/")
                || registration.equals(".") || registration.equals(".."))) {
            throw new UserError("--registration " + registration + ": must be a plain file name");
        }
        ImageOptions options = ImageOptions.builder()
                .compression(compression).level(level).xzBcj(xzBcj)
                .blockSize(blockSize == null ? null : Sizes.parse(blockSize))
                .pcluster(pcluster == null ? null : Sizes.parse(pcluster))
                .tailPacking(tailPacking).fragments(fragments)
                .label(label).uuid(uuid)
                .threads(threads.count()).mtime(Reproducible.mtime())
                .build();
        Terminal term = Terminal.forStderr(spec.commandLine().getErr());
        ClosureGraph graph = closure.graph();
        Path store = closure.realStore();
        Map<String, byte[]> extra = new TreeMap<>();
        if (registration != null) {
            ClosureGraph withHashes = ImageClosures.withNarHashes(graph, store, options.threads(), term);
            extra.put(registration, Registration.write(withHashes, false));
        }
        if (output != null) {
            ImageBuild.build(graph, store, type, options, extra, output, term, reuse);
            return 0;
        }
        Path tmpDir = Files.createTempDirectory(buildDir, "microforge-image-");
        try {
            Path img = tmpDir.resolve("image");
            ImageBuild.build(graph, store, type, options, extra, img, term, reuse);
            DeviceOutput.copy(img, toDevice);
        } finally {
            Files.deleteIfExists(tmpDir.resolve("image"));
            Files.deleteIfExists(tmpDir);
        }
        return 0;
    }

    /**
     * The directory the image for a device of {@code size} bytes is built in: --temp-dir, else $TMPDIR (which
     * java.io.tmpdir ignores), else java.io.tmpdir; refused unless it is a directory with {@code size} bytes free.
     */
    private Path buildDir(long size) throws IOException {
        String env = System.getenv("TMPDIR");
        String how = tempDir != null ? "--temp-dir " : env != null && !env.isEmpty() ? "TMPDIR " : "";
        Path dir = tempDir != null ? tempDir : Path.of(env != null && !env.isEmpty() ? env : System.getProperty("java.io.tmpdir"));
        String name = how + RawNames.display(dir.toString());
        if (!Files.isDirectory(dir)) {
            throw new UserError(name + ": not a directory (the image for --to-device is built there first)");
        }
        long free = Files.getFileStore(dir).getUsableSpace();
        if (free < size) {
            throw new UserError(name + ": only " + free + " bytes free, the image for " + toDevice + " may need up to its "
                    + size + " bytes (it is built there first; give --temp-dir DIR with room); nothing written");
        }
        return dir;
    }
}
