package dev.microforge.store;

import java.util.Arrays;

/**
 * Nix's base-32: alphabet without e, o, u, t; characters emitted from the most significant 5-bit group
 * of the little-endian number, i.e. reversed relative to the naive bit order.
 */
public final class Nix32 {
    public static final String ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
    private static final byte[] DECODE = new byte[128];

    static {
        Arrays.fill(DECODE, (byte) -1);
        for (int i = 0; i < ALPHABET.length(); i++) {
            DECODE[ALPHABET.charAt(i)] = (byte) i;
        }
    }

    private Nix32() {}

    public static int encodedLength(int bytes) {
        return (bytes * 8 - 1) / 5 + 1;
    }

    public static String encode(byte[] hash) {
        int len = encodedLength(hash.length);
        char[] out = new char[len];
        for (int n = len - 1; n >= 0; n--) {
            int b = n * 5;
            int i = b / 8;
            int j = b % 8;
            int c = (hash[i] & 0xff) >>> j;
            if (i + 1 < hash.length) {
                c |= (hash[i + 1] & 0xff) << (8 - j);
            }
            out[len - 1 - n] = ALPHABET.charAt(c & 0x1f);
        }
        return new String(out);
    }

    /** Decodes into {@code size} bytes; throws IllegalArgumentException on a bad character or length. */
    public static byte[] decode(String s, int size) {
        if (s.length() != encodedLength(size)) {
            throw new IllegalArgumentException("nix32 string of length " + s.length() + ", expected " + encodedLength(size));
        }
        byte[] out = new byte[size];
        int len = s.length();
        for (int n = 0; n < len; n++) {
            char ch = s.charAt(len - 1 - n);
            int digit = ch < 128 ? DECODE[ch] : -1;
            if (digit < 0) {
                throw new IllegalArgumentException("invalid nix32 character '" + ch + "'");
            }
            int b = n * 5;
            int i = b / 8;
            int j = b % 8;
            out[i] |= (byte) (digit << j);
            int carry = digit >>> (8 - j);
            if (i + 1 < size) {
                out[i + 1] |= (byte) carry;
            } else if (carry != 0) {
                throw new IllegalArgumentException("invalid nix32 string: excess bits");
            }
        }
        return out;
    }

    public static boolean isNix32Char(int ch) {
        return ch >= 0 && ch < 128 && DECODE[ch] >= 0;
    }
}
