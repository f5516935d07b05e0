package dev.microforge.audit;

import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A shell-style pattern for {@code --forbid}: {@code *} (any run of characters, slashes included), {@code ?}
 * (one character), {@code [abc]}, {@code [a-z]}, {@code [!abc]}; everything else literal. A store path matches
 * when the pattern matches its name ({@code gcc-12.2.0}), its base name ({@code <hash>-gcc-12.2.0}) or the
 * whole path, so {@code *-gcc-*}, {@code gcc-*}, {@code *-dev} and a full toplevel path all work.
 */
public record Glob(String text, Pattern regex) {
    public Glob {
        Objects.requireNonNull(text);
        Objects.requireNonNull(regex);
    }

    public static Glob compile(String text) {
        if (text.isEmpty()) {
            throw new UserError("--forbid: empty pattern");
        }
        StringBuilder re = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '*') {
                re.append(".*");
                i++;
            } else if (c == '?') {
                re.append('.');
                i++;
            } else if (c == '[') {
                int j = i + 1;
                if (j < text.length() && (text.charAt(j) == '!' || text.charAt(j) == '^')) {
                    j++;
                }
                if (j < text.length() && text.charAt(j) == ']') {
                    j++;
                }
                while (j < text.length() && text.charAt(j) != ']') {
                    j++;
                }
                if (j >= text.length()) {
                    throw new UserError("--forbid '" + text + "': unclosed '[' at character " + (i + 1));
                }
                StringBuilder cls = new StringBuilder("[");
                int k = i + 1;
                if (text.charAt(k) == '!' || text.charAt(k) == '^') {
                    cls.append('^');
                    k++;
                }
                for (; k < j; k++) {
                    char d = text.charAt(k);
                    if (d == '-' && k > i + 1 && k < j - 1) {
                        cls.append('-');
                    } else if (Character.isLetterOrDigit(d)) {
                        cls.append(d);
                    } else {
                        cls.append('\\').append(d);
                    }
                }
                re.append(cls).append(']');
                i = j + 1;
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
                i++;
            }
        }
        try {
            return new Glob(text, Pattern.compile(re.toString(), Pattern.DOTALL));
        } catch (PatternSyntaxException e) {
            throw new UserError("--forbid '" + text + "': invalid pattern: " + e.getDescription());
        }
    }

    public boolean matches(StorePath p) {
        return regex.matcher(p.name()).matches() || regex.matcher(p.baseName()).matches()
                || regex.matcher(p.path()).matches();
    }

    @Override
    public String toString() {
        return text;
    }
}
