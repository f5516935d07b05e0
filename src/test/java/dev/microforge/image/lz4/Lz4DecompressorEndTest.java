package dev.microforge.image.lz4;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Found by ImageFuzz on the EROFS reader: a block that ends right after a match was read past its end. */
class Lz4DecompressorEndTest {
    @Test
    void blockEndingAfterAMatchIsAFormatError() {
        byte[] block = {0x10, 'a', 1, 0}; // 1 literal, then a 4-byte match at offset 1, then nothing
        byte[] out = new byte[100];
        assertThrows(Lz4Decompressor.Lz4FormatException.class, () -> Lz4Decompressor.decompressUpTo(block, 0, block.length, out, 0, out.length));
    }
}
