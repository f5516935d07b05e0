package dev.microforge.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NixWriterTest {

    @Test
    void commentsEscapeEveryLineEndAndControlCharacter() {
        assertEquals("# a\\rb = 1; \\nc \\e[1m \\x7f \\xc2\\x85", NixWriter.comment("a\rb = 1; \nc \u001b[1m \u007f \u0085"));
        assertEquals("#", NixWriter.comment("  "));
        assertEquals("# x\n# y\n{ }\n", NixWriter.render(List.of("x", "y"), Nix.attrs().build()));
        // Nix ends a comment at CR: a header element holding one stays one comment line
        assertEquals("# from x\\r{ }\n{ }\n", NixWriter.render(List.of("from x\r{ }"), Nix.attrs().build()));
    }

    @Test
    void escapesTheFourDangerousThings() {
        assertEquals("\"a\\\"b\"", NixWriter.string("a\"b"));
        assertEquals("\"a\\\\b\"", NixWriter.string("a\\b"));
        assertEquals("\"\\${x}\"", NixWriter.string("${x}"));
        assertEquals("\"$\\${x}\"", NixWriter.string("$${x}"));
        assertEquals("\"a\\nb\\r\\t\"", NixWriter.string("a\nb\r\t"));
        assertEquals("\"$ $x $\"", NixWriter.string("$ $x $"));
        assertEquals("\"'' ''${\"", NixWriter.string("'' ''${").replace("\\$", "$"));
        assertEquals("\"ünï ✓ 🦀\"", NixWriter.string("ünï ✓ 🦀"));
    }

    @Test
    void refusesWhatNixCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> NixWriter.string("a\0b"));
        assertThrows(IllegalArgumentException.class, () -> NixWriter.string("a\ud800b"));
        assertThrows(IllegalArgumentException.class, () -> Nix.str("\udc00"));
    }

    @Test
    void quotesAttributeNamesOnlyWhenNeeded() {
        assertEquals("foo", NixWriter.attrName("foo"));
        assertEquals("foo-bar_1'", NixWriter.attrName("foo-bar_1'"));
        assertEquals("_x", NixWriter.attrName("_x"));
        assertEquals("\"if\"", NixWriter.attrName("if"));
        assertEquals("\"inherit\"", NixWriter.attrName("inherit"));
        assertEquals("\"or\"", NixWriter.attrName("or"));
        assertEquals("\"1abc\"", NixWriter.attrName("1abc"));
        assertEquals("\"\"", NixWriter.attrName(""));
        assertEquals("\"/nix/store\"", NixWriter.attrName("/nix/store"));
        assertEquals("\"a.b\"", NixWriter.attrName("a.b"));
        assertEquals("\"-x\"", NixWriter.attrName("-x"));
        assertEquals("true", NixWriter.attrName("true"));
        assertEquals("fileSystems.\"/nix/store\".options", NixWriter.attrPath(List.of("fileSystems", "/nix/store", "options")));
    }

    @Test
    void layoutFollowsTheStandardFormat() {
        Nix module = new Nix.Lambda(List.of("lib"), true, Nix.attrs()
                .put(List.of("boot", "kernelParams"), Nix.strings(List.of("console=ttyS0", "quiet")))
                .put(List.of("boot", "initrd", "availableKernelModules"),
                        Nix.strings(List.of("virtio_blk", "virtio_pci", "erofs", "overlay", "9p")))
                .put(List.of("fileSystems", "/nix/store"), Nix.attrs()
                        .put("device", "/dev/disk/by-label/nix-store")
                        .put("options", Nix.list(List.of()))
                        .put("neededForBoot", true)
                        .build())
                .put("empty", Nix.attrs().build())
                .put("n", Nix.num(-3))
                .put("x", Nix.nul())
                .put("wrapped", Nix.apply(Nix.ref("lib.mkDefault"), Nix.attrs().put("a", 1).build()))
                .put("short", Nix.apply(Nix.ref("lib.mkForce"), Nix.bool(false)))
                .put("negs", Nix.list(List.of(Nix.num(-1), Nix.num(2))))
                .put("nested", Nix.list(List.of(Nix.attrs().put("if", "then").build(), Nix.list(List.of()))))
                .build());
        String expected = """
                # generated
                { lib, ... }:
                {
                  boot.kernelParams = [ "console=ttyS0" "quiet" ];
                  boot.initrd.availableKernelModules = [
                    "virtio_blk"
                    "virtio_pci"
                    "erofs"
                    "overlay"
                    "9p"
                  ];
                  fileSystems."/nix/store" = {
                    device = "/dev/disk/by-label/nix-store";
                    options = [ ];
                    neededForBoot = true;
                  };
                  empty = { };
                  n = -3;
                  x = null;
                  wrapped = lib.mkDefault {
                    a = 1;
                  };
                  short = lib.mkForce false;
                  negs = [ (-1) 2 ];
                  nested = [
                    {
                      "if" = "then";
                    }
                    [ ]
                  ];
                }
                """;
        assertEquals(expected, NixWriter.render(List.of("generated"), module));
    }

    @Test
    void longListsAndLinesAreExpanded() {
        String longItem = "x".repeat(60);
        String text = NixWriter.render(Nix.attrs().put("l", Nix.strings(List.of(longItem, longItem))).build());
        assertEquals("{\n  l = [\n    \"" + longItem + "\"\n    \"" + longItem + "\"\n  ];\n}\n", text);
        // a string never breaks, even past the limit
        String huge = "y".repeat(200);
        assertEquals("{\n  s = \"" + huge + "\";\n}\n", NixWriter.render(Nix.attrs().put("s", huge).build()));
        for (String line : text.split("\n")) {
            assertTrue(line.equals(line.stripTrailing()), "no trailing whitespace");
        }
    }

    @Test
    void refusesAmbiguousAttributeSets() {
        assertThrows(IllegalArgumentException.class, () -> Nix.attrs().put("a", 1).put("a", 2).build());
        assertThrows(IllegalArgumentException.class,
                () -> Nix.attrs().put("a", 1).put(List.of("a", "b"), Nix.num(2)).build());
        assertThrows(IllegalArgumentException.class,
                () -> Nix.attrs().put(List.of("a", "b"), Nix.num(2)).put("a", 1).build());
        assertThrows(IllegalArgumentException.class, () -> Nix.ref("a.${b}"));
        assertThrows(IllegalArgumentException.class, () -> Nix.ref("let"));
    }
}
