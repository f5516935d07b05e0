package dev.microforge.util;

import java.util.Locale;

/** Parsing and printing of byte sizes: "512", "4K", "1.5GiB", "20MB" (powers of 1024 for K/M/G/T, as du and nix do). */
public final class Sizes {
    private Sizes() {}

    public static long parse(String text) {
        String s = text.trim();
        if (s.isEmpty()) {
            throw new UserError("empty size");
        }
        int i = 0;
        while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
            i++;
        }
        if (i == 0) {
            throw new UserError("invalid size '" + text + "': expected a number with an optional unit (K, M, G, T)");
        }
        double num;
        try {
            num = Double.parseDouble(s.substring(0, i));
        } catch (NumberFormatException e) {
            throw new UserError("invalid size '" + text + "'");
        }
        String unit = s.substring(i).trim().toUpperCase(Locale.ROOT);
        long mul = switch (unit) {
            case "", "B" -> 1L;
            case "K", "KB", "KIB" -> 1L << 10;
            case "M", "MB", "MIB" -> 1L << 20;
            case "G", "GB", "GIB" -> 1L << 30;
            case "T", "TB", "TIB" -> 1L << 40;
            default -> throw new UserError("invalid size unit in '" + text + "': expected K, M, G or T");
        };
        double v = num * mul;
        if (v > Long.MAX_VALUE) {
            throw new UserError("size '" + text + "' is too large");
        }
        return (long) Math.floor(v);
    }

    /** Human readable, e.g. "12.3 MiB"; exact bytes below 1 KiB. Locale independent. */
    public static String human(long bytes) {
        long abs = Math.abs(bytes);
        if (abs < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
