package dev.microforge.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The one escaper for human-readable output: names as bytes, messages as text. */
class RawNamesDisplayTest {
    private static String bytes(String latin1) {
        return RawNames.display(latin1.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void controlBytesDelAndBackslashAreEscaped() {
        assertEquals("a\\nb", bytes("a\nb"));
        assertEquals("\\e[31mred", bytes("\u001b[31mred"));
        assertEquals("cr\\rtab\\t", bytes("cr\rtab\t"));
        assertEquals("\\x00\\x01\\x7f", bytes("\u0000\u0001\u007f"));
        assertEquals("back\\\\slash", bytes("back\\slash"));
        assertEquals("plain-name_1.2+x", bytes("plain-name_1.2+x"));
    }

    @Test
    void validUtf8IsKeptInvalidBytesAreEscaped() {
        assertEquals("ü✓🦀", RawNames.display("ü✓🦀".getBytes(StandardCharsets.UTF_8)));
        // a lone continuation byte, a truncated sequence, an overlong '/', a UTF-16 surrogate encoded in UTF-8
        assertEquals("a\\x80b", RawNames.display(new byte[] {'a', (byte) 0x80, 'b'}));
        assertEquals("\\xe2\\x9c", RawNames.display(new byte[] {(byte) 0xe2, (byte) 0x9c}));
        assertEquals("\\xc0\\xaf", RawNames.display(new byte[] {(byte) 0xc0, (byte) 0xaf}));
        assertEquals("\\xed\\xa0\\x80", RawNames.display(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}));
        // valid UTF-8 around an invalid byte stays readable
        byte[] mixed = ("ü" + "\u0000").getBytes(StandardCharsets.UTF_8);
        mixed[mixed.length - 1] = (byte) 0xff;
        assertEquals("ü\\xff", RawNames.display(mixed));
    }

    @Test
    void c1ControlsLineSeparatorsAndBidiOverridesAreEscaped() {
        assertEquals("\\xc2\\x9b31m", RawNames.display("\u009b31m".getBytes(StandardCharsets.UTF_8)));
        assertEquals("a\\xe2\\x80\\xa8b", RawNames.display("a\u2028b".getBytes(StandardCharsets.UTF_8)));
        assertEquals("x\\xe2\\x80\\xaeexe.txt", RawNames.display("x\u202eexe.txt".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void messagesKeepBackslashesSoEscapingTwiceChangesNothing() {
        String name = RawNames.display("a\nb\\c".getBytes(StandardCharsets.UTF_8));
        String message = "/tmp/" + name + ": no such file";
        assertEquals(message, RawNames.display(message));
        assertEquals("x\\ny\\e[2J\\x7f\\xc2\\x85", RawNames.display("x\ny\u001b[2J\u007f\u0085"));
        assertEquals("lone \ufffd surrogate", RawNames.display("lone \ud800 surrogate"));
        assertEquals("emoji 🦀 kept", RawNames.display("emoji 🦀 kept"));
    }

    @Test
    void textKeepsExactValidUtf8ForJson() {
        assertEquals("a\nb\u001b", RawNames.text("a\nb\u001b".getBytes(StandardCharsets.UTF_8)));
        assertEquals("a\\x80", RawNames.text(new byte[] {'a', (byte) 0x80}));
    }

    @Test
    void userErrorsShowAPathFromItsRawBytes() {
        java.nio.file.Path p = RawNames.path(new byte[] {'/', 't', (byte) 0xff, '\n', 'x'});
        String expected = RawNames.exact() ? "/t\\xff\\nx: no such file" : "/t\ufffd\\nx: no such file";
        assertEquals(expected, UserError.at(p, "no such file").getMessage());
        assertEquals("f.json:3: bad", UserError.at("f.json", 3, "bad").getMessage());
    }
}
