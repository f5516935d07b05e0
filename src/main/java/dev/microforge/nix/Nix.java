package dev.microforge.nix;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The small subset of the Nix language that microforge emits, as values. Text reaches the output only
 * through {@link NixWriter}, which owns all quoting: user data is always a {@link Str} (or an attribute
 * name inside a {@link Binding}), never pasted into code.
 */
public sealed interface Nix {

    /** A string literal; any text (paths included: a store path is written as a string, not a path literal). */
    record Str(String value) implements Nix {
        public Str {
            NixWriter.checkText(value);
        }
    }

    /** A 64-bit integer, as Nix has. */
    record Int(long value) implements Nix {}

    record Bool(boolean value) implements Nix {}

    /** {@code null}. */
    record Null() implements Nix {}

    /** {@code [ a b ]}. */
    record ListOf(List<Nix> items) implements Nix {
        public ListOf {
            items = List.copyOf(items);
        }
    }

    /** {@code { a.b = v; }}: bindings in the given order; no path is bound twice or bound below a bound value. */
    record Attrs(List<Binding> bindings) implements Nix {
        public Attrs {
            bindings = List.copyOf(bindings);
            Set<List<String>> bound = new HashSet<>();
            Set<List<String>> prefixes = new HashSet<>();
            for (Binding b : bindings) {
                List<String> p = b.path();
                if (bound.contains(p) || prefixes.contains(p)) {
                    throw new IllegalArgumentException("attribute " + NixWriter.attrPath(p) + " bound twice");
                }
                for (int i = 1; i < p.size(); i++) {
                    if (bound.contains(p.subList(0, i))) {
                        throw new IllegalArgumentException("attribute " + NixWriter.attrPath(p) + " is inside "
                                + NixWriter.attrPath(p.subList(0, i)) + ", which is already bound");
                    }
                    prefixes.add(List.copyOf(p.subList(0, i)));
                }
                bound.add(p);
            }
        }
    }

    /** One {@code path = value;} binding; each path element is any text (quoted by the writer when needed). */
    record Binding(List<String> path, Nix value) {
        public Binding {
            path = List.copyOf(path);
            if (path.isEmpty()) {
                throw new IllegalArgumentException("empty attribute path");
            }
            path.forEach(NixWriter::checkText);
            Objects.requireNonNull(value, "value");
        }
    }

    /** A variable or a selection of plain identifiers, such as {@code lib.mkDefault}: code, never user data. */
    record Ref(String dotted) implements Nix {
        private static final Pattern REF = Pattern.compile("[A-Za-z_][A-Za-z0-9_'-]*(\\.[A-Za-z_][A-Za-z0-9_'-]*)*");

        public Ref {
            if (!REF.matcher(dotted).matches()) {
                throw new IllegalArgumentException("not a variable or selection: " + dotted);
            }
            for (String part : dotted.split("\\.")) {
                if (NixWriter.KEYWORDS.contains(part)) {
                    throw new IllegalArgumentException("keyword in reference: " + dotted);
                }
            }
        }
    }

    /** Function application {@code f a b}. */
    record Apply(Nix function, List<Nix> args) implements Nix {
        public Apply {
            args = List.copyOf(args);
            if (args.isEmpty()) {
                throw new IllegalArgumentException("application without arguments");
            }
        }
    }

    /** A module-style function {@code { a, b, ... }: body}. */
    record Lambda(List<String> formals, boolean ellipsis, Nix body) implements Nix {
        public Lambda {
            formals = List.copyOf(formals);
            for (String f : formals) {
                if (!NixWriter.isIdentifier(f)) {
                    throw new IllegalArgumentException("not a formal argument name: " + f);
                }
            }
        }
    }

    // ---- convenience constructors ----

    static Str str(String s) {
        return new Str(s);
    }

    static Int num(long n) {
        return new Int(n);
    }

    static Bool bool(boolean b) {
        return new Bool(b);
    }

    static Null nul() {
        return new Null();
    }

    static ListOf list(List<? extends Nix> items) {
        return new ListOf(new ArrayList<>(items));
    }

    static ListOf strings(List<String> items) {
        return new ListOf(items.stream().<Nix>map(Str::new).toList());
    }

    static Ref ref(String dotted) {
        return new Ref(dotted);
    }

    static Apply apply(Nix f, Nix... args) {
        return new Apply(f, List.of(args));
    }

    /** Builds an attribute set in insertion order. */
    static AttrsBuilder attrs() {
        return new AttrsBuilder();
    }

    final class AttrsBuilder {
        private final List<Binding> bindings = new ArrayList<>();

        /** Binds a path given as separate elements (each element may be any text). */
        public AttrsBuilder put(List<String> path, Nix value) {
            bindings.add(new Binding(path, value));
            return this;
        }

        /** Binds {@code name} (one element, any text). */
        public AttrsBuilder put(String name, Nix value) {
            return put(List.of(name), value);
        }

        public AttrsBuilder put(String name, String value) {
            return put(List.of(name), new Str(value));
        }

        public AttrsBuilder put(String name, long value) {
            return put(List.of(name), new Int(value));
        }

        public AttrsBuilder put(String name, boolean value) {
            return put(List.of(name), new Bool(value));
        }

        public boolean isEmpty() {
            return bindings.isEmpty();
        }

        public Attrs build() {
            return new Attrs(bindings);
        }
    }
}
