package dev.microforge.nix;

import dev.microforge.util.RawNames;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * THE Nix writer: the only place where Nix text is made. It escapes strings and chooses attribute-name
 * quoting, and lays expressions out in the style of the standard Nix format (RFC 166, as nixfmt prints it):
 * <ul>
 *   <li>two spaces per indentation level, one binding per line, {@code [ ]} and {@code { }} when empty;</li>
 *   <li>non-empty attribute sets are always expanded (nixfmt keeps an expanded set expanded);</li>
 *   <li>a list stays on one line when it has at most {@value #MAX_INLINE_ITEMS} simple items
 *       (strings, numbers, booleans, null, variables) and the line stays within {@value #WIDTH} characters
 *       after its indentation; otherwise one item per line;</li>
 *   <li>the right-hand side of a binding is absorbed ({@code name = [}, {@code name = {},
 *       {@code name = f x {}) when it is multi-line; strings are never broken;</li>
 *   <li>a file ends with exactly one newline, no trailing whitespace anywhere.</li>
 * </ul>
 * Strings are always written as {@code "..."} literals: {@code \}, {@code "}, and {@code $} before
 * {@code {} are backslash-escaped, newline, carriage return and tab become {@code \n}, {@code \r}, {@code \t}.
 * Every other character is written as itself (UTF-8). NUL and unpaired surrogates cannot be represented in a
 * Nix string and are refused.
 */
public final class NixWriter {
    /** nixfmt's default soft line-length limit (characters after the indentation). */
    public static final int WIDTH = 100;
    /** Longest list kept on one line. */
    public static final int MAX_INLINE_ITEMS = 4;

    static final Set<String> KEYWORDS = Set.of("if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_'-]*");

    private NixWriter() {}

    // ---------------------------------------------------------------- quoting

    /** A double-quoted Nix string literal whose value is exactly {@code s}. */
    public static String string(String s) {
        checkText(s);
        StringBuilder sb = new StringBuilder(s.length() + 2);
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '$' -> sb.append(i + 1 < s.length() && s.charAt(i + 1) == '{' ? "\\$" : "$");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /**
     * A one-line Nix comment ({@code # text}, no line end) whose text is exactly {@code text} as shown by
     * {@link RawNames#display(String)}: Nix ends a {@code #} comment at LF and at CR, so every line end and every
     * other control character (and the bidi controls) is escaped, never written; the comment cannot end early and
     * nothing after it can become code. Trailing blanks are dropped.
     */
    public static String comment(String text) {
        String t = RawNames.display(text).stripTrailing();
        return t.isEmpty() ? "#" : "# " + t;
    }

    /** True when {@code s} can be written bare as an attribute name or formal argument. */
    public static boolean isIdentifier(String s) {
        return IDENTIFIER.matcher(s).matches() && !KEYWORDS.contains(s);
    }

    /** An attribute name: bare when it is an identifier, a string literal otherwise. */
    public static String attrName(String name) {
        return isIdentifier(name) ? name : string(name);
    }

    /** An attribute path {@code a."b c".d}. */
    public static String attrPath(List<String> path) {
        StringBuilder sb = new StringBuilder();
        for (String p : path) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(attrName(p));
        }
        return sb.toString();
    }

    /** Refuses text that no Nix string can hold. */
    static void checkText(String s) {
        Objects.requireNonNull(s, "string");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) {
                throw new IllegalArgumentException("a Nix string cannot contain a NUL character: " + preview(s));
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException("unpaired UTF-16 surrogate in text: " + preview(s));
            }
        }
    }

    private static String preview(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        StringBuilder sb = new StringBuilder();
        t.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return "\"" + sb + "\"";
    }

    // ---------------------------------------------------------------- layout

    /** A whole file: the expression, formatted, ending with one newline. */
    public static String render(Nix expr) {
        return render(List.of(), expr);
    }

    /** A whole file with {@code # } comment lines on top: one line per element, each through {@link #comment}. */
    public static String render(List<String> headerComments, Nix expr) {
        StringBuilder sb = new StringBuilder();
        for (String c : headerComments) {
            sb.append(comment(c)).append('\n');
        }
        write(sb, expr, 0, 0);
        return sb.append('\n').toString();
    }

    /** One expression as text (no trailing newline), laid out as it would be at the top level. */
    public static String expression(Nix expr) {
        StringBuilder sb = new StringBuilder();
        write(sb, expr, 0, 0);
        return sb.toString();
    }

    private static boolean isSimple(Nix e) {
        return e instanceof Nix.Str || e instanceof Nix.Int || e instanceof Nix.Bool || e instanceof Nix.Null
                || e instanceof Nix.Ref;
    }

    private static boolean needsParens(Nix e) {
        return e instanceof Nix.Apply || e instanceof Nix.Lambda || (e instanceof Nix.Int i && i.value() < 0);
    }

    /** The one-line form, or null when the expression is always multi-line. Ignores the width. */
    private static String flat(Nix e) {
        if (e instanceof Nix.Str s) {
            return string(s.value());
        }
        if (e instanceof Nix.Int i) {
            return i.value() == Long.MIN_VALUE ? "(-9223372036854775807 - 1)" : Long.toString(i.value());
        }
        if (e instanceof Nix.Bool b) {
            return b.value() ? "true" : "false";
        }
        if (e instanceof Nix.Null) {
            return "null";
        }
        if (e instanceof Nix.Ref r) {
            return r.dotted();
        }
        if (e instanceof Nix.ListOf l) {
            if (l.items().isEmpty()) {
                return "[ ]";
            }
            if (l.items().size() > MAX_INLINE_ITEMS || !l.items().stream().allMatch(NixWriter::isSimple)) {
                return null;
            }
            StringBuilder sb = new StringBuilder("[");
            for (Nix item : l.items()) {
                sb.append(' ').append(wrap(item, flat(item)));
            }
            return sb.append(" ]").toString();
        }
        if (e instanceof Nix.Attrs a) {
            return a.bindings().isEmpty() ? "{ }" : null;
        }
        if (e instanceof Nix.Apply ap) {
            StringBuilder sb = new StringBuilder();
            String f = flat(ap.function());
            if (f == null) {
                return null;
            }
            sb.append(wrap(ap.function(), f));
            for (Nix arg : ap.args()) {
                String fa = flat(arg);
                if (fa == null) {
                    return null;
                }
                sb.append(' ').append(wrap(arg, fa));
            }
            return sb.toString();
        }
        return null; // lambdas: always laid out over lines
    }

    private static String wrap(Nix e, String text) {
        return needsParens(e) ? "(" + text + ")" : text;
    }

    /** Whether the flat form fits when it starts at {@code column} (relative to indentation) and is followed by {@code tail}. */
    private static boolean fits(String flat, int used, int tail) {
        return flat != null && flat.indexOf('\n') < 0 && used + flat.length() + tail <= WIDTH;
    }

    /**
     * Writes {@code e} at the current position. {@code indent} is the indentation of the current line,
     * {@code used} the characters already on it after the indentation.
     */
    private static void write(StringBuilder sb, Nix e, int indent, int used) {
        write(sb, e, indent, used, 0);
    }

    private static void write(StringBuilder sb, Nix e, int indent, int used, int tail) {
        String f = flat(e);
        if (f != null && (isSimple(e) || fits(f, used, tail))) {
            sb.append(f);
            return;
        }
        if (e instanceof Nix.Attrs a) {
            sb.append('{');
            for (Nix.Binding b : a.bindings()) {
                sb.append('\n');
                pad(sb, indent + 2);
                binding(sb, b, indent + 2);
            }
            sb.append('\n');
            pad(sb, indent);
            sb.append('}');
        } else if (e instanceof Nix.ListOf l) {
            sb.append('[');
            for (Nix item : l.items()) {
                sb.append('\n');
                pad(sb, indent + 2);
                if (needsParens(item)) {
                    sb.append('(');
                    write(sb, item, indent + 2, 1, 1);
                    sb.append(')');
                } else {
                    write(sb, item, indent + 2, 0);
                }
            }
            sb.append('\n');
            pad(sb, indent);
            sb.append(']');
        } else if (e instanceof Nix.Apply ap) {
            apply(sb, ap, indent, used, tail);
        } else if (e instanceof Nix.Lambda lam) {
            sb.append("{ ");
            for (String formal : lam.formals()) {
                sb.append(formal).append(", ");
            }
            if (lam.ellipsis()) {
                sb.append("... ");
            } else if (!lam.formals().isEmpty()) {
                sb.setLength(sb.length() - 2);
                sb.append(' ');
            }
            sb.append("}:\n");
            pad(sb, indent);
            write(sb, lam.body(), indent, 0, tail);
        } else {
            throw new IllegalStateException("no layout for " + e);
        }
    }

    /** {@code f a b {}: the last argument absorbed when it is an attribute set or list; otherwise one argument a line. */
    private static void apply(StringBuilder sb, Nix.Apply ap, int indent, int used, int tail) {
        String f = flat(ap.function());
        List<Nix> args = ap.args();
        Nix last = args.get(args.size() - 1);
        StringBuilder head = new StringBuilder(f == null ? "" : wrap(ap.function(), f));
        boolean headFlat = f != null;
        for (Nix arg : args.subList(0, args.size() - 1)) {
            String fa = flat(arg);
            if (fa == null) {
                headFlat = false;
                break;
            }
            head.append(' ').append(wrap(arg, fa));
        }
        if (headFlat && (last instanceof Nix.Attrs || last instanceof Nix.ListOf) && used + head.length() + 2 <= WIDTH) {
            sb.append(head).append(' ');
            write(sb, last, indent, used + head.length() + 1, tail);
            return;
        }
        // one argument a line, indented
        if (f != null) {
            sb.append(wrap(ap.function(), f));
        } else {
            sb.append('(');
            write(sb, ap.function(), indent, used + 1, 1);
            sb.append(')');
        }
        for (Nix arg : args) {
            sb.append('\n');
            pad(sb, indent + 2);
            if (needsParens(arg)) {
                sb.append('(');
                write(sb, arg, indent + 2, 1, 1);
                sb.append(')');
            } else {
                write(sb, arg, indent + 2, 0);
            }
        }
    }

    private static void binding(StringBuilder sb, Nix.Binding b, int indent) {
        String name = attrPath(b.path());
        sb.append(name).append(" =");
        Nix v = b.value();
        String f = flat(v);
        int used = name.length() + 3;
        if (f != null && (fits(f, used, 1) || isSimple(v))) {
            sb.append(' ').append(f).append(';');
            return;
        }
        boolean absorbable = v instanceof Nix.Attrs || v instanceof Nix.ListOf
                || (v instanceof Nix.Apply ap && (ap.args().get(ap.args().size() - 1) instanceof Nix.Attrs
                        || ap.args().get(ap.args().size() - 1) instanceof Nix.ListOf));
        if (absorbable) {
            sb.append(' ');
            write(sb, v, indent, used, 1);
        } else if (f != null && fits(f, 0, 1)) {
            // style #2: the value fits a line of its own
            sb.append('\n');
            pad(sb, indent + 2);
            sb.append(f);
        } else {
            sb.append('\n');
            pad(sb, indent + 2);
            write(sb, v, indent + 2, 0, 1);
        }
        sb.append(';');
    }

    private static void pad(StringBuilder sb, int n) {
        sb.append(" ".repeat(n));
    }
}
