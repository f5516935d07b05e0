package dev.microforge.runner;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * THE quoting helper for generated shell: every user value reaches a script through {@link #quote} (POSIX single
 * quotes, byte-exact for spaces, quotes, {@code $()}, backticks, newlines...). A {@link Word} is one shell word
 * made of literal parts (quoted) and references to shell variables the generated script itself sets (names are
 * checked, never user values). Scripts are assembled by {@link Script}, which only accepts fixed code lines and
 * words, so no user value is ever concatenated into shell text unquoted.
 */
public final class Shell {
    private static final Pattern VAR_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private Shell() {}

    /** One shell word that evaluates to exactly {@code s}. */
    public static String quote(String s) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a shell word cannot contain a NUL byte");
        }
        if (!s.isEmpty() && SAFE.matcher(s).matches()) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** A part of a word. */
    public sealed interface Part permits Lit, Var {}

    /** Literal text, quoted when rendered. */
    public record Lit(String text) implements Part {}

    /** {@code "${name}"}: a variable set by the generated script. */
    public record Var(String name) implements Part {
        public Var {
            if (!VAR_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("not a shell variable name: " + name);
            }
        }
    }

    /** One shell word made of parts; renders as their concatenation. */
    public record Word(List<Part> parts) {
        public Word {
            parts = List.copyOf(parts);
        }

        public String render() {
            if (parts.isEmpty()) {
                return "''";
            }
            StringBuilder sb = new StringBuilder();
            for (Part p : parts) {
                if (p instanceof Lit l) {
                    if (!l.text().isEmpty()) {
                        sb.append(quoteAlways(l.text()));
                    }
                } else if (p instanceof Var v) {
                    sb.append("\"${").append(v.name()).append("}\"");
                }
            }
            return sb.isEmpty() ? "''" : sb.toString();
        }

        /** The text with variables shown as ${name} (for golden files and docs). */
        public String display() {
            StringBuilder sb = new StringBuilder();
            for (Part p : parts) {
                sb.append(p instanceof Lit l ? l.text() : "${" + ((Var) p).name() + "}");
            }
            return sb.toString();
        }
    }

    private static String quoteAlways(String s) {
        return SAFE.matcher(s).matches() ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    /** A literal word. */
    public static Word lit(String s) {
        return new Word(List.of(new Lit(s)));
    }

    /** A word concatenating literal strings and {@link Var}s. */
    public static Word word(Object... parts) {
        List<Part> l = new ArrayList<>();
        for (Object o : parts) {
            if (o instanceof String s) {
                l.add(new Lit(s));
            } else if (o instanceof Part p) {
                l.add(p);
            } else if (o instanceof Word w) {
                l.addAll(w.parts());
            } else {
                throw new IllegalArgumentException("not a word part: " + o);
            }
        }
        return new Word(l);
    }

    public static Var var(String name) {
        return new Var(name);
    }

    /** Renders words separated by spaces. */
    public static String words(List<Word> words) {
        StringBuilder sb = new StringBuilder();
        for (Word w : words) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(w.render());
        }
        return sb.toString();
    }

    /** A script being assembled from fixed code (compile-time constants of the generator) and quoted words. */
    public static final class Script {
        private final StringBuilder sb = new StringBuilder();

        /** A line of generator code. Must not contain user values: pass those as words to {@link #cmd}. */
        public Script code(String fixedCode) {
            sb.append(fixedCode).append('\n');
            return this;
        }

        /** A command: each argument is a {@link Word} or a literal String (quoted). */
        public Script cmd(Object... words) {
            return cmdList(toWords(words));
        }

        public Script cmdList(List<Word> words) {
            sb.append(words(words)).append('\n');
            return this;
        }

        /** A command with a fixed code prefix (e.g. {@code exec}, {@code "$@" ||}) then quoted words. */
        public Script prefixed(String fixedCode, List<Word> words) {
            sb.append(fixedCode).append(' ').append(words(words)).append('\n');
            return this;
        }

        /** Fixed code, quoted words, fixed code: e.g. indentation before and {@code || ...} after a command. */
        public Script wrapped(String fixedBefore, List<Word> words, String fixedAfter) {
            sb.append(fixedBefore).append(words(words)).append(fixedAfter).append('\n');
            return this;
        }

        /** {@code name=VALUE} with the value quoted. */
        public Script assign(String name, Object value) {
            new Var(name);
            sb.append(name).append('=').append(toWords(value).get(0).render()).append('\n');
            return this;
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }

    static List<Word> toWords(Object... words) {
        List<Word> l = new ArrayList<>();
        for (Object o : words) {
            if (o instanceof Word w) {
                l.add(w);
            } else if (o instanceof String s) {
                l.add(lit(s));
            } else if (o instanceof Var v) {
                l.add(word(v));
            } else if (o instanceof List<?> list) {
                for (Object x : list) {
                    l.addAll(toWords(x));
                }
            } else {
                throw new IllegalArgumentException("not a word: " + o);
            }
        }
        return l;
    }
}
