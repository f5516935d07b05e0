package dev.microforge.cli;

import dev.microforge.util.AuditViolation;
import dev.microforge.util.ExitCodes;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
     * that one (building picocli's model of all of them costs about 0.1 s of CPU at every start); any other run
     * (help, no or an unknown subcommand, completion) gets all of them.
     */
    static final java.util.List<Class<?>> SUBCOMMANDS = java.util.List.of(
            NarCommand.class,
            ClosureCommand.class,
            AuditCommand.class,
            ImageCommand.class,
            RunnerCommand.class,
            UnitsCommand.class,
            VmCommand.class,
            PreflightCommand.class,
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
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = run(out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Testable entry point: runs the CLI with the given streams and returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        addSubcommands(cl, args);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExitCodeExceptionMapper(Main::exitCodeOf);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("microforge: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, err)) {
                err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for more information.");
            }
            return ExitCodes.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean trace = parseResult != null && parseResult.hasMatchedOption("--stacktrace")
                    || java.util.Arrays.asList(args).contains("--stacktrace");
            Throwable t = unwrap(ex);
            int code = exitCodeOf(t);
            if (t instanceof AuditViolation) {
                if (t.getMessage() != null && !t.getMessage().isEmpty()) {
                    err.println("microforge: " + t.getMessage());
                }
            } else {
                err.println("microforge: " + messageOf(t));
            }
            if (trace) {
                t.printStackTrace(err);
            }
            err.flush();
            return code;
        });
        return cl.execute(args);
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
        while ((t instanceof UncheckedIOException || t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static int exitCodeOf(Throwable t) {
        t = unwrap(t);
        if (t instanceof UserError) {
            return ExitCodes.USAGE;
        }
        if (t instanceof AuditViolation) {
            return ExitCodes.VIOLATION;
        }
        return ExitCodes.FAILURE;
    }

    static String messageOf(Throwable t) {
        if (t instanceof UserError) {
            return t.getMessage();
        }
        if (t instanceof java.nio.file.NoSuchFileException e) {
            return e.getFile() + ": no such file or directory";
        }
        if (t instanceof java.nio.file.AccessDeniedException e) {
            return e.getFile() + ": permission denied";
        }
        if (t instanceof java.nio.file.FileSystemException e) {
            return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName());
        }
        if (t instanceof IOException) {
            return "I/O error: " + t.getMessage();
        }
        return "internal error: " + t + " (run with --stacktrace for details)";
    }
}
