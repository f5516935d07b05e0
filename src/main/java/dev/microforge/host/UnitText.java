package dev.microforge.host;

import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * THE escaping helper for generated systemd unit files: every value that reaches a unit goes through one of these
 * methods, never by concatenation. Rules (systemd.syntax(7), systemd.service(5), systemd.unit(5)):
 * <ul>
 * <li>every value: no control characters (newline, CR, tab ...: refused with the field named), {@code %} doubled
 * (specifiers are expanded in nearly every setting);</li>
 * <li>command lines ({@link #exec}): each argument one word, double-quoted when not plain, with {@code \} and
 * {@code "} C-escaped, {@code ;} written as {@code \x3b} (a lone {@code ;} separates commands), {@code $} doubled
 * (environment variables are expanded); the executable must be an absolute path without {@code $};</li>
 * <li>assignments ({@link #env}): one double-quoted C-escaped word, no {@code $} expansion there;</li>
 * <li>paths and free text ({@link #path}, {@link #text}): taken verbatim to the end of the line, so no leading or
 * trailing white space and no trailing backslash (a line continuation);</li>
 * <li>unit-name parts ({@link #namePart}): bytes outside {@code [A-Za-z0-9_.-]} and a leading {@code .} as
 * {@code \xHH}. Unlike systemd-escape, {@code -} is kept (instance names are never unescaped with {@code %I}, so
 * nothing reads it back as {@code /}), so {@code /} is {@code \x2f}, and {@code :} is escaped ({@code \x3a}, which
 * systemd unescapes to {@code :}); every other byte is written as systemd-escape writes it;</li>
 * <li>{@code .device} units ({@link #deviceUnit}): exactly {@code systemd-escape --path --suffix=device}.</li>
 * </ul>
 */
public final class UnitText {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_/.:=,+@-]+");

    private UnitText() {}

    /** Refuses control characters and NUL; {@code field} names where the value came from. */
    static String checked(String field, String v) {
        if (v == null) {
            throw new UserError(field + ": missing value");
        }
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                String what = c == '\n' ? "a newline" : c == '\r' ? "a carriage return" : c == 0 ? "a NUL byte"
                        : String.format("the control character 0x%02x", (int) c);
                throw new UserError(field + ": '" + v.replace("\n", "\\n").replace("\r", "\\r")
                        + "' contains " + what + ", which a systemd unit file cannot hold");
            }
        }
        return v;
    }

    private static String cEscape(String v, boolean dollar) {
        StringBuilder sb = new StringBuilder(v.length() + 8);
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '"' -> sb.append("\\\"");
                case '%' -> sb.append("%%");
                case ';' -> sb.append("\\x3b");
                case '$' -> sb.append(dollar ? "$$" : "$");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** One argument of a command line. */
    public static String arg(String field, String v) {
        checked(field, v);
        if (!v.isEmpty() && PLAIN.matcher(v).matches()) {
            return v;
        }
        return "\"" + cEscape(v, true) + "\"";
    }

    /** A command line: an absolute executable and its arguments; {@code prefix} is "" or systemd's "-" (ignore failure). */
    public static String exec(String prefix, String field, String executable, List<String> args) {
        if (!prefix.isEmpty() && !prefix.equals("-")) {
            throw new IllegalArgumentException("prefix " + prefix);
        }
        checked(field, executable);
        if (!executable.startsWith("/")) {
            throw new UserError(field + ": '" + executable + "' is not an absolute path (systemd runs only absolute paths)");
        }
        if (executable.indexOf('$') >= 0) {
            throw new UserError(field + ": '" + executable + "' contains '$', which systemd does not allow in an executable path");
        }
        StringBuilder sb = new StringBuilder(prefix).append(arg(field, executable));
        for (String a : args) {
            sb.append(' ').append(arg(field, a));
        }
        return sb.toString();
    }

    /** {@code Environment=} value: one quoted {@code KEY=VALUE} word. */
    public static String env(String field, String key, String value) {
        if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("not an environment variable name: " + key);
        }
        checked(field, value);
        return "\"" + cEscape(key + "=" + value, false) + "\"";
    }

    /** An absolute path taken verbatim to the end of the line (WorkingDirectory=, ...). */
    public static String path(String field, String v) {
        checked(field, v);
        if (!v.startsWith("/")) {
            throw new UserError(field + ": '" + v + "' is not an absolute path");
        }
        return text(field, v);
    }

    /** Free text taken verbatim to the end of the line (Description=). */
    public static String text(String field, String v) {
        checked(field, v);
        if (!v.equals(v.strip())) {
            throw new UserError(field + ": '" + v + "' starts or ends with white space, which systemd would drop");
        }
        if (v.endsWith("\\")) {
            throw new UserError(field + ": '" + v + "' ends with a backslash, which systemd reads as a line continuation");
        }
        return v.replace("%", "%%");
    }

    /**
     * A part of a unit name (the VM name, a share tag): bytes outside [A-Za-z0-9_.-] and a leading '.' as \xHH;
     * '-' kept (instance names are never unescaped with %I). Injective, so no two VMs or tags share a unit name.
     */
    public static String namePart(String v) {
        StringBuilder sb = new StringBuilder();
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            int c = b[i] & 0xff;
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
                    || c == '-' || c == '.' && i > 0;
            if (ok) {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\x%02x", c));
            }
        }
        return sb.toString();
    }

    /** The .device unit of a network interface: {@code systemd-escape --path --suffix=device /sys/subsystem/net/devices/IF}. */
    public static String deviceUnit(String ifname) {
        StringBuilder sb = new StringBuilder("sys-subsystem-net-devices-");
        byte[] b = ifname.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            int c = b[i] & 0xff;
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_'
                    || c == '.' && i > 0;
            sb.append(ok ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return sb.append(".device").toString();
    }
}
