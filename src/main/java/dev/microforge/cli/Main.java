package dev.microforge.cli;

import dev.microforge.image.CorruptImageException;
import dev.microforge.util.AuditViolation;
import dev.microforge.util.ExitCodes;
import dev.microforge.util.RawNames;
import dev.microforge.util.UserError;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "microforge",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Store-disk images, closure audits and microVM runners for Nix.")
public final class Main implements Runnable {
    /**
     * The subcommands, in help order. Registered by {@link #addSubcommands}: a run that names one of them gets only
     * that one (picocli's model of all of them costs CPU at every start: docs/benchmarks.md); any other run
     * (help, no or an unknown subcommand, completion) gets all of them.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            NarCommand.class,
            ClosureCommand.class,
            AuditCommand.class,
            ImageCommand.class,
            RunnerCommand.class,
            UnitsCommand.class,
            VmCommand.class,
            PreflightCommand.class,
            ShutdownCommand.class,
            NixCommand.class,
            AutoComplete.GenerateCompletion.class);

    @Option(names = "--stacktrace", scope = CommandLine.ScopeType.INHERIT,
            description = "Print the full stack trace of an error.")
    boolean stacktrace;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    public static void main(String[] args) {
        CheckedStream stdout = new CheckedStream(new FileOutputStream(FileDescriptor.out));
        PrintWriter out = new PrintWriter(new OutputStreamWriter(stdout, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        boolean[] reported = new boolean[1];
        int code = run(out, err, reported, args);
        out.flush();
        code = checkStdout(code, reported[0], out, stdout.failure(), err);
        err.flush();
        System.exit(code);
    }

    /**
     * A failed write on standard output (a full disk, a closed pipe, a closed descriptor) is a failure, exit 1,
     * with one line; PrintWriter only records that something failed, {@code failure} is the first error. A run
     * that already printed its own error line ({@code reported}: a usage error or an exception handled here) keeps
     * its code and that one line; any other run (also one that returned 1 or 3 on its own, such as preflight with
     * findings) gets the line and exit 1.
     */
    static int checkStdout(int code, boolean reported, PrintWriter out, IOException failure, PrintWriter err) {
        if (!out.checkError() && failure == null) {
            return code;
        }
        if (reported) {
            return code;
        }
        String reason = failure == null ? "write failed" : failure.getMessage() != null ? failure.getMessage() : failure.toString();
        err.println("microforge: error writing standard output: " + RawNames.display(reason));
        return ExitCodes.FAILURE;
    }

    /**
     * Standard output that remembers its first write error. After it, writes fail at once with the same
     * exception (nothing more is attempted), so a command printing a long listing into a full disk stops paying
     * for system calls.
     */
    static final class CheckedStream extends OutputStream {
        private final OutputStream out;
        private IOException failure;

        CheckedStream(OutputStream out) {
            this.out = out;
        }

        IOException failure() {
            return failure;
        }

        private void check() throws IOException {
            if (failure != null) {
                throw failure;
            }
        }

        @Override
        public void write(int b) throws IOException {
            check();
            try {
                out.write(b);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            check();
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            check();
            try {
                out.flush();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }
    }

    /** Testable entry point: runs the CLI with the given streams and returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(out, err, new boolean[1], args);
    }

    /** As {@link #run(PrintWriter, PrintWriter, String...)}; sets {@code reported[0]} when it printed an error line. */
    static int run(PrintWriter out, PrintWriter err, boolean[] reported, String... args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        addSubcommands(cl, args);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExitCodeExceptionMapper(Main::exitCodeOf);
        cl.setParameterExceptionHandler((ex, a) -> {
            reported[0] = true;
            err.println(usageLine(ex));
            err.flush();
            return ExitCodes.USAGE;
        });
        // registered after the subcommands so that they all get it: an empty Path is refused while parsing
        cl.registerConverter(Path.class, v -> {
            if (v.isEmpty()) {
                throw new CommandLine.TypeConversionException("the path must not be empty");
            }
            return Path.of(v);
        });
        cl.setExecutionStrategy(parseResult -> {
            refuseEmptyPaths(parseResult);
            return new CommandLine.RunLast().execute(parseResult);
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean trace = parseResult != null && parseResult.hasMatchedOption("--stacktrace")
                    || Arrays.asList(args).contains("--stacktrace");
            Throwable t = unwrap(ex);
            if (t instanceof OutOfMemoryError oom) {
                reported[0] = true;
                return outOfMemory(err, oom, trace);
            }
            int code = exitCodeOf(t);
            reported[0] = true;
            if (t instanceof AuditViolation) {
                if (t.getMessage() != null && !t.getMessage().isEmpty()) {
                    err.println("microforge: " + RawNames.display(t.getMessage()));
                }
            } else {
                err.println("microforge: " + RawNames.display(messageOf(t)));
            }
            if (trace) {
                t.printStackTrace(err);
            }
            err.flush();
            return code;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError oom) { // picocli hands errors through; the graph that filled the heap is garbage now
            reported[0] = true;
            return outOfMemory(err, oom, Arrays.asList(args).contains("--stacktrace"));
        } catch (StackOverflowError e) {
            // picocli hands only Exceptions to the handler above; this reaches here and is still one line
            reported[0] = true;
            err.println("microforge: internal error: stack overflow"
                    + (Arrays.asList(args).contains("--stacktrace") ? "" : " (run with --stacktrace for details)"));
            if (Arrays.asList(args).contains("--stacktrace")) {
                e.printStackTrace(err);
            }
            err.flush();
            return ExitCodes.FAILURE;
        }
    }

    /** Parameter labels of options and positionals that name a file, directory or program. */
    static final Set<String> PATH_LABELS = Set.of(
            "DIR", "DIRS", "FILE", "IMG", "OUT", "PATH", "PROGRAM", "ROOT", "DEV", "VM_JSON", "CMD");

    /**
     * An empty path ('' on the command line) is a usage error for every option and positional that takes a path
     * (typed {@link java.nio.file.Path}, or labelled with one of {@link #PATH_LABELS}): Path.of("") would be the
     * current directory.
     */
    static void refuseEmptyPaths(CommandLine.ParseResult top) {
        for (CommandLine.ParseResult pr = top; pr != null; pr = pr.subcommand()) {
            List<CommandLine.Model.ArgSpec> args = new ArrayList<>(pr.matchedOptions());
            args.addAll(pr.matchedPositionals());
            for (CommandLine.Model.ArgSpec a : args) {
                boolean path = PATH_LABELS.contains(a.paramLabel())
                        || a.type() == Path.class
                        || Arrays.asList(a.auxiliaryTypes()).contains(Path.class);
                if (path && a.originalStringValues().contains("")) {
                    String name = a instanceof CommandLine.Model.OptionSpec o ? o.longestName() : a.paramLabel();
                    throw new CommandLine.ParameterException(pr.commandSpec().commandLine(),
                            name + ": the path must not be empty", a, "");
                }
            }
        }
    }

    /**
     * The one line of a usage error: the message, picocli's suggestions for a mistyped word, and where the help is:
     * {@code microforge: <message> (Did you mean: microforge image?) (see 'microforge <cmd> --help')}.
     */
    static String usageLine(CommandLine.ParameterException ex) {
        StringBuilder line = new StringBuilder("microforge: ")
                .append(RawNames.display(String.valueOf(ex.getMessage()).strip().replace('\n', ' ')));
        StringWriter hint = new StringWriter();
        if (CommandLine.UnmatchedArgumentException.printSuggestions(ex, new PrintWriter(hint, true))) {
            String h = hint.toString().strip().replaceAll("\\s*\\R\\s*", " ");
            if (!h.isEmpty()) {
                line.append(" (").append(RawNames.display(h)).append(")");
            }
        }
        line.append(" (see '").append(ex.getCommandLine().getCommandSpec().qualifiedName()).append(" --help')");
        return line.toString();
    }

    /**
     * One line for a run that ran out of memory (exit 1): what ran out, the heap limit and how to raise it (the launcher
     * passes MICROFORGE_JAVA_OPTS last, so an -Xmx there wins).
     */
    static int outOfMemory(PrintWriter err, OutOfMemoryError oom, boolean trace) {
        long max = Runtime.getRuntime().maxMemory();
        long mib = max == Long.MAX_VALUE ? -1 : max >> 20;
        err.println("microforge: out of memory (" + (oom.getMessage() != null ? oom.getMessage() : "OutOfMemoryError")
                + (mib > 0 ? ", maximum heap " + mib + " MiB" : "") + "); raise it with MICROFORGE_JAVA_OPTS=-Xmx"
                + (mib > 0 ? Math.max(1024, mib * 2) + "m" : "4g"));
        if (trace) {
            oom.printStackTrace(err);
        }
        err.flush();
        return ExitCodes.FAILURE;
    }

    /** Registers the subcommand the arguments name (the first word not starting with '-'), or all of them. */
    static void addSubcommands(CommandLine cl, String... args) {
        String first = null;
        for (String a : args) {
            if (!a.startsWith("-")) {
                first = a;
                break;
            }
        }
        Class<?> only = null;
        for (Class<?> c : SUBCOMMANDS) {
            if (c != AutoComplete.GenerateCompletion.class && c.getAnnotation(Command.class).name().equals(first)) {
                only = c;
            }
        }
        for (Class<?> c : SUBCOMMANDS) {
            if (only == null || c == only) {
                cl.addSubcommand(c);
            }
        }
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof UncheckedIOException || t instanceof ExecutionException
                || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static int exitCodeOf(Throwable t) {
        t = unwrap(t);
        if (t instanceof UserError || t instanceof CorruptImageException) {
            return ExitCodes.USAGE;
        }
        if (t instanceof AuditViolation) {
            return ExitCodes.VIOLATION;
        }
        return ExitCodes.FAILURE;
    }

    static String messageOf(Throwable t) {
        if (t instanceof UserError || t instanceof CorruptImageException) {
            return t.getMessage();
        }
        if (t instanceof NoSuchFileException e) {
            return e.getFile() + ": no such file or directory";
        }
        if (t instanceof AccessDeniedException e) {
            return e.getFile() + ": permission denied";
        }
        if (t instanceof FileSystemException e) {
            return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName());
        }
        if (t instanceof IOException) {
            return "I/O error: " + t.getMessage();
        }
        return "internal error: " + t + " (run with --stacktrace for details)";
    }
}
