package dev.microforge.store;

import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;

/**
 * A sha256 (or other) hash as Nix prints it: {@code sha256:<nix32>}, SRI {@code sha256-<base64>}, or base16.
 */
public record Hash(String algorithm, byte[] bytes) {
    public Hash {
        int expected = sizeOf(algorithm);
        if (expected < 0) {
            throw new IllegalArgumentException("unknown hash algorithm '" + algorithm + "'");
        }
        if (bytes.length != expected) {
            throw new IllegalArgumentException(algorithm + " hash must be " + expected + " bytes");
        }
        bytes = bytes.clone();
    }

    public static int sizeOf(String algo) {
        return switch (algo) {
            case "md5" -> 16;
            case "sha1" -> 20;
            case "sha256" -> 32;
            case "sha512" -> 64;
            default -> -1;
        };
    }

    public static Hash sha256(byte[] bytes) {
        return new Hash("sha256", bytes);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    public String toSri() {
        return algorithm + "-" + Base64.getEncoder().encodeToString(bytes);
    }

    public String toNix32() {
        return algorithm + ":" + Nix32.encode(bytes);
    }

    public String toBase16() {
        return algorithm + ":" + HexFormat.of().formatHex(bytes);
    }

    public String format(String style) {
        return switch (style.toLowerCase(Locale.ROOT)) {
            case "sri" -> toSri();
            case "nix32", "base32" -> toNix32();
            case "base16", "hex" -> toBase16();
            default -> throw new IllegalArgumentException("unknown hash format '" + style + "' (expected sri, nix32 or base16)");
        };
    }

    /**
     * Parses any form Nix prints: {@code algo:nix32}, {@code algo:base16}, {@code algo:base64}, SRI {@code algo-base64}.
     * A bare hash (no algorithm) is taken as {@code defaultAlgo}.
     */
    public static Hash parse(String text, String defaultAlgo) {
        String algo;
        String rest;
        boolean sri = false;
        int colon = text.indexOf(':');
        int dash = text.indexOf('-');
        if (colon > 0) {
            algo = text.substring(0, colon);
            rest = text.substring(colon + 1);
        } else if (dash > 0 && sizeOf(text.substring(0, dash)) > 0) {
            algo = text.substring(0, dash);
            rest = text.substring(dash + 1);
            sri = true;
        } else {
            if (defaultAlgo == null) {
                throw new IllegalArgumentException("hash '" + text + "' has no algorithm prefix");
            }
            algo = defaultAlgo;
            rest = text;
        }
        int size = sizeOf(algo);
        if (size < 0) {
            throw new IllegalArgumentException("unknown hash algorithm '" + algo + "' in '" + text + "'");
        }
        if (!sri && rest.length() == size * 2) {
            try {
                return new Hash(algo, HexFormat.of().parseHex(rest));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid base16 hash '" + text + "'");
            }
        }
        if (!sri && rest.length() == Nix32.encodedLength(size)) {
            try {
                return new Hash(algo, Nix32.decode(rest, size));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid hash '" + text + "': " + e.getMessage());
            }
        }
        try {
            byte[] b = Base64.getDecoder().decode(rest);
            if (b.length == size) {
                return new Hash(algo, b);
            }
        } catch (IllegalArgumentException e) {
            // fall through
        }
        throw new IllegalArgumentException("invalid " + algo + " hash '" + text + "'");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Hash h && h.algorithm.equals(algorithm) && Arrays.equals(h.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return algorithm.hashCode() * 31 + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return toSri();
    }
}
