package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.store.Hash;
import dev.microforge.store.Nix32;
import dev.microforge.store.StorePath;
import dev.microforge.util.UserError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The byte-level line reader ({@link LineParser}) against the line-by-line reader it replaced
 * ({@link LegacyLineFormat}, the oracle): the same graphs and, for bad input, the same one-line messages, on hand-made
 * cases and on thousands of randomly damaged files.
 */
class LineParserTest {
    static final String SD = "/nix/store";

    static String p(String hash, String name) {
        return SD + "/" + hash + "-" + name;
    }

    static final String A = p("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "a");
    static final String B = p("1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b", "b-1.0");
    static final String C = p("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "c"); // same hash part as A, other name
    static final String H32 = "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
    static final String H16 = "3e51fb52dbc52fb6a8e11bbbeea988c2d5c12bd8d05261e7eee93a083edd5fa9";

    static ClosureGraph parse(String text, boolean withHash) {
        return LineParser.parse("f", SD, text.getBytes(StandardCharsets.ISO_8859_1), withHash);
    }

    /** The outcome of one reader: the graph's infos, or the exception's class and message (and dangling list). */
    static String outcome(java.util.function.Supplier<ClosureGraph> read) {
        try {
            ClosureGraph g = read.get();
            StringBuilder sb = new StringBuilder("ok ").append(g.size()).append('\n');
            for (PathInfo pi : g.paths()) {
                sb.append(pi.path()).append(' ').append(pi.narHash()).append(' ').append(pi.narSize()).append(' ')
                        .append(pi.deriver()).append(' ').append(pi.references()).append('\n');
            }
            for (int i = 0; i < g.size(); i++) {
                sb.append(Arrays.toString(g.referencesOf(i))).append(g.narSize(i)).append(g.pathString(i)).append('\n');
            }
            return sb.toString();
        } catch (NotClosedException e) {
            return "not closed " + e.getMessage() + " " + e.dangling() + " " + e.openGraph().paths();
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName() + " " + e.getMessage();
        }
    }

    static final SplittableRandom WINDOWS = new SplittableRandom(11);

    /** The same outcome from the old reader, the new one on the whole content, and the new one reading a stream. */
    static void same(byte[] content, boolean withHash) {
        String want = outcome(() -> LegacyLineFormat.read("f", SD, content.clone(), withHash));
        String got = outcome(() -> LineParser.parse("f", SD, content.clone(), withHash));
        assertEquals(want, got, () -> "input:\n" + new String(content, StandardCharsets.ISO_8859_1));
        int head = WINDOWS.nextInt(content.length + 1);
        int window = 1 + WINDOWS.nextInt(WINDOWS.nextBoolean() ? 8 : 700);
        String streamed = outcome(() -> LineParser.parse("f", SD, Arrays.copyOf(content, head), head,
                java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(content, head, content.length - head)),
                content.length, withHash, window));
        assertEquals(want, streamed, () -> "streamed (head " + head + ", window " + window + "), input:\n"
                + new String(content, StandardCharsets.ISO_8859_1));
    }

    @Test
    void readsRegistrationIntoTheCompactGraph() {
        String reg = B + "\n" + H32 + "\n200\n" + A + "\n2\n" + A + "\n" + B + "\n"
                + A + "\n" + H16 + "\n100\n\n0\n"
                + C + "\nsha512:" + "0".repeat(128) + "\n5\n\n2\n" + A + "\n" + A + "\n";
        ClosureGraph g = parse(reg, true);
        assertEquals(3, g.size());
        assertEquals(List.of(A, C, B), List.of(g.pathString(0), g.pathString(1), g.pathString(2)));
        assertEquals("c", g.name(1));
        assertEquals(100, g.narSize(0));
        assertEquals(Hash.parse(H16, "sha256"), g.narHash(0));
        assertEquals("sha512", g.narHash(1).algorithm());
        assertEquals(Hash.parse(H32, "sha256"), g.narHash(2));
        assertEquals(StorePath.parse(SD, A), g.deriver(2));
        assertEquals(null, g.deriver(0));
        assertEquals("[0, 2]", Arrays.toString(g.referencesOf(2)));
        assertEquals("[0]", Arrays.toString(g.referencesOf(1))); // the duplicate reference is dropped
        assertEquals(0, g.indexOf(StorePath.parse(SD, A)));
        assertEquals(-1, g.indexOf(StorePath.parse(SD, p("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "b"))));
        same(reg.getBytes(StandardCharsets.ISO_8859_1), true);
    }

    @Test
    void badInputHasTheOneLineMessagesOfBefore() {
        // truncated file
        UserError e = assertThrows(UserError.class, () -> parse(A + "\n" + H32 + "\n100\n\n1\n" + A, true));
        assertEquals("f:6: unexpected end of file: the last line has no newline (truncated?)", e.getMessage());
        e = assertThrows(UserError.class, () -> parse(A + "\n" + H32 + "\n", true));
        assertEquals("f:3: unexpected end of file: expected the narSize of " + A + " (truncated file?)", e.getMessage());
        // wrong count
        e = assertThrows(UserError.class, () -> parse(A + "\n" + H32 + "\n100\n\n3\n" + A + "\n", true));
        assertEquals("f:5: reference count 3 of " + A + " exceeds the 1 lines left in the file (wrong count or truncated file?)",
                e.getMessage());
        // bad hash characters, in the path and in the narHash
        e = assertThrows(UserError.class, () -> parse(p("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0e", "x") + "\n\n0\n", false));
        assertEquals("f:1: expected a store path, got '" + p("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0e", "x")
                + "': invalid character 'e' in hash part '0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0e'", e.getMessage());
        e = assertThrows(UserError.class, () -> parse(A + "\nsha256:" + "e".repeat(52) + "\n1\n\n0\n", true));
        assertEquals("f:2: invalid narHash of " + A + ": invalid hash 'sha256:" + "e".repeat(52)
                + "': invalid nix32 character 'e'", e.getMessage());
        // missing referenced path
        e = assertThrows(UserError.class, () -> parse(A + "\n\n1\n" + B + "\n", false));
        assertInstanceOf(NotClosedException.class, e);
        assertEquals("f:4: the closure is not closed: " + B + " is referenced by " + A + " but is not in the closure", e.getMessage());
        assertEquals(1, ((NotClosedException) e).dangling().size());
        assertEquals(1, ((NotClosedException) e).openGraph().size());
        // a byte that is not ASCII anywhere in the file wins over an earlier problem
        e = assertThrows(UserError.class, () -> parse(A + "\n\nx\n" + A + "\u00e9\n", false));
        assertEquals("f:4: unexpected byte 0xe9 (a closure file is ASCII text; is this the right file?)", e.getMessage());
        for (String bad : List.of(A + "\n\n2\n" + A + "\n" + B + "\n\n0\n", A + "\n\n1\n" + B + "\n",
                A + "\n\n0\n" + A + "\n\n1\n" + A + "\n", A + "\n\n1\n\n", A + "\n\n2\n\n" + A + "\n",
                A + "\n\n99999999999999999999\n", A + "\n\n9999999999999999999\n", A + "\n\n2147483648\n",
                A + "\n" + H32 + "\n9223372036854775808\n\n0\n", "\n", "\n\n\n", "", A + "\n\n0\n\n\n\n",
                "/nix/store/../etc/passwd\n\n0\n", A + "\n/nix/store/x\n0\n", A + "\n" + A + "\n0\n")) {
            same(bad.getBytes(StandardCharsets.ISO_8859_1), false);
            same(bad.getBytes(StandardCharsets.ISO_8859_1), true);
        }
    }

    @Test
    void otherStoreDirectories() {
        String reg = "/gnu/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a\n\n0\n";
        for (String sd : List.of("/gnu/store", "/nix/store", "gnu/store", "/gnu/store/", "/gnu/./store")) {
            byte[] c = reg.getBytes(StandardCharsets.ISO_8859_1);
            assertEquals(outcome(() -> LegacyLineFormat.read("f", sd, c.clone(), false)),
                    outcome(() -> LineParser.parse("f", sd, c.clone(), false)), sd);
        }
    }

    /** A random well-formed closure: registration (nix32 or base16 hashes) or exportReferencesGraph lines. */
    static String randomClosure(SplittableRandom r, boolean withHash) {
        int n = 1 + r.nextInt(12);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            char[] h = new char[32];
            for (int k = 0; k < 32; k++) {
                h[k] = Nix32.ALPHABET.charAt(r.nextInt(4)); // few distinct hashes: shared hash parts happen
            }
            paths.add(p(new String(h), "pkg" + r.nextInt(5) + (r.nextBoolean() ? "-1." + r.nextInt(3) : "-dev")));
        }
        StringBuilder sb = new StringBuilder();
        for (String path : paths) {
            sb.append(path).append('\n');
            if (withHash) {
                byte[] hash = new byte[32];
                r.nextBytes(hash);
                sb.append(r.nextInt(3) == 0 ? HexFormat.of().formatHex(hash) : "sha256:" + Nix32.encode(hash)).append('\n');
                sb.append(r.nextInt(100000)).append('\n');
            }
            sb.append(r.nextInt(4) == 0 ? paths.get(r.nextInt(n)) : "").append('\n');
            int k = r.nextInt(4);
            sb.append(k).append('\n');
            for (int j = 0; j < k; j++) {
                sb.append(paths.get(r.nextInt(n))).append('\n');
            }
        }
        return sb.toString();
    }

    static final byte[] NOISE = {'\n', '\n', 'e', '0', 'z', '/', ' ', '-', '.', (byte) 0x80, 0, '9', 'a', 's', ':'};

    @Test
    void damagedFilesGiveTheSameGraphOrTheSameMessage() {
        SplittableRandom r = new SplittableRandom(20261121);
        int checked = 0;
        long until = System.nanoTime() + 8_000_000_000L;
        for (int iter = 0; iter < 20000 && System.nanoTime() < until; iter++) {
            boolean withHash = r.nextBoolean();
            byte[] c = randomClosure(r, withHash).getBytes(StandardCharsets.ISO_8859_1);
            int damage = r.nextInt(7);
            for (int d = 0; d < damage; d++) {
                c = damage(r, c);
            }
            same(c, withHash);
            checked++;
        }
        assertTrue(checked > 1000, "only " + checked + " cases in the time bound");
    }

    static byte[] damage(SplittableRandom r, byte[] c) {
        if (c.length == 0) {
            return new byte[] {'\n'};
        }
        int at = r.nextInt(c.length);
        switch (r.nextInt(6)) {
            case 0: // truncate
                return Arrays.copyOf(c, at);
            case 1: { // replace a byte
                byte[] d = c.clone();
                d[at] = NOISE[r.nextInt(NOISE.length)];
                return d;
            }
            case 2: { // delete a byte
                byte[] d = new byte[c.length - 1];
                System.arraycopy(c, 0, d, 0, at);
                System.arraycopy(c, at + 1, d, at, c.length - at - 1);
                return d;
            }
            case 3: { // insert a byte
                byte[] d = new byte[c.length + 1];
                System.arraycopy(c, 0, d, 0, at);
                d[at] = NOISE[r.nextInt(NOISE.length)];
                System.arraycopy(c, at, d, at + 1, c.length - at);
                return d;
            }
            case 4: { // duplicate a stretch (repeated records, lines)
                int len = Math.min(c.length - at, 1 + r.nextInt(200));
                byte[] d = new byte[c.length + len];
                System.arraycopy(c, 0, d, 0, at + len);
                System.arraycopy(c, at, d, at + len, c.length - at);
                return d;
            }
            default: { // change a digit (counts, sizes)
                byte[] d = c.clone();
                for (int i = at; i < d.length; i++) {
                    if (d[i] >= '0' && d[i] <= '9' && (i == 0 || d[i - 1] == '\n')) {
                        d[i] = (byte) ('0' + r.nextInt(10));
                        break;
                    }
                }
                return d;
            }
        }
    }
}
