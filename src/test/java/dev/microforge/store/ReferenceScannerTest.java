package dev.microforge.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ReferenceScannerTest {
    static String randomHash(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            sb.append(Nix32.ALPHABET.charAt(r.nextInt(32)));
        }
        return sb.toString();
    }

    /** The obvious algorithm: every candidate that occurs as a substring. */
    static List<String> naive(byte[] data, List<String> candidates) {
        String s = new String(data, StandardCharsets.ISO_8859_1);
        TreeSet<String> out = new TreeSet<>();
        for (String c : candidates) {
            if (s.contains(c)) {
                out.add(c);
            }
        }
        return new ArrayList<>(out);
    }

    @Test
    void findsHashesSplitAcrossEveryWriteBoundary() {
        Random r = new Random(7);
        List<String> cands = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            cands.add(randomHash(r));
        }
        for (int round = 0; round < 200; round++) {
            byte[] data = new byte[1 + r.nextInt(400)];
            for (int i = 0; i < data.length; i++) {
                // mostly nix32 characters, so windows are long and lookups frequent
                data[i] = r.nextInt(10) == 0 ? (byte) r.nextInt(256) : (byte) Nix32.ALPHABET.charAt(r.nextInt(32));
            }
            int k = r.nextInt(4);
            for (int j = 0; j < k && data.length >= 32; j++) {
                byte[] h = cands.get(r.nextInt(cands.size())).getBytes(StandardCharsets.US_ASCII);
                int at = r.nextInt(data.length - 31);
                System.arraycopy(h, 0, data, at, 32);
            }
            ReferenceScanner sc = new ReferenceScanner(cands);
            int off = 0;
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + r.nextInt(40));
                sc.write(data, off, n);
                off += n;
            }
            assertEquals(naive(data, cands), sc.found(), "round " + round);
        }
    }

    @Test
    void byteAtATime() {
        Random r = new Random(3);
        String h = randomHash(r);
        byte[] data = ("xx/nix/store/" + h + "-foo\0").getBytes(StandardCharsets.US_ASCII);
        ReferenceScanner sc = new ReferenceScanner(List.of(h, randomHash(r)));
        for (byte b : data) {
            sc.write(b);
        }
        assertEquals(List.of(h), sc.found());
    }

    @Test
    void noCandidatesNoHits() {
        ReferenceScanner sc = new ReferenceScanner(List.of());
        sc.write(new byte[100], 0, 100);
        assertEquals(List.of(), sc.found());
    }
}
