package dev.microforge.image.erofs.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference tools decode our pclusters: {@code zstd -d} our zstd frames; {@code gzip -d} our raw DEFLATE
 * streams in a gzip wrapper (so the stored-block first byte with bit 3 set is checked by another inflater);
 * {@code xz --format=lzma -d} our MicroLZMA streams turned back into .lzma files as the kernel reads them (the
 * first byte negated gives the properties, the range coder's first byte is zero, the uncompressed size is known,
 * no end marker).
 */
@Tag("oracle")
class PclusterOracleTest {
    @Test
    void referenceToolsDecodeOurPclusters(@TempDir Path dir) throws Exception {
        Path zstd = Tools.require("zstd");
        Path gzip = Tools.require("gzip");
        Path xz = Tools.require("xz");
        byte[] bin = PclusterCodecTest.filesUnder("/usr/bin", 500_000);
        byte[] mixed = PclusterCodecTest.mixed();
        int n = 0;
        for (PclusterCodec codec : PclusterCodec.values()) {
            for (int cap : new int[] {4096, 131072}) {
                AlgorithmConfig cfg = codec.config(cap);
                DestSizeCompressor c = codec.newCompressor(codec.defaultLevel(), cfg);
                for (byte[] data : new byte[][] {bin, mixed}) {
                    for (int pos = 0, k = 0; pos < data.length && k < 3; k++, n++) {
                        byte[] dst = new byte[cap];
                        long r = c.compressDestSize(data, pos, data.length - pos, dst, 0, cap);
                        byte[] stream = Arrays.copyOf(dst, DestSizeCompressor.produced(r));
                        byte[] expect = Arrays.copyOfRange(data, pos, pos + DestSizeCompressor.consumed(r));
                        Path f = dir.resolve("p" + n);
                        byte[] got = switch (codec) {
                            case ZSTD -> {
                                Files.write(f, stream);
                                yield Exec.ok(zstd.toString(), "-d", "-q", "-c", f.toString()).stdout();
                            }
                            case DEFLATE -> {
                                Files.write(f, gzipWrap(stream, expect));
                                yield Exec.ok(gzip.toString(), "-d", "-c", f.toString()).stdout();
                            }
                            case LZMA -> {
                                Files.write(f, lzmaAlone(stream, cfg.window(), expect.length));
                                yield Exec.ok(xz.toString(), "--format=lzma", "-d", "-c", f.toString()).stdout();
                            }
                        };
                        assertArrayEquals(expect, got, codec + " cap " + cap + " pcluster " + k + " at " + pos);
                        pos += expect.length;
                    }
                }
            }
        }
    }

    /** A gzip member (RFC 1952) around a raw DEFLATE stream. */
    static byte[] gzipWrap(byte[] deflate, byte[] content) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff});
        b.writeBytes(deflate);
        CRC32 crc = new CRC32();
        crc.update(content);
        le(b, crc.getValue(), 4);
        le(b, content.length, 4);
        return b.toByteArray();
    }

    /** A .lzma file: properties, dictionary size, uncompressed size, the raw stream with its zero first byte. */
    static byte[] lzmaAlone(byte[] micro, int dict, long size) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(~micro[0] & 0xFF);
        le(b, dict, 4);
        le(b, size, 8);
        b.write(0);
        b.write(micro, 1, micro.length - 1);
        return b.toByteArray();
    }

    private static void le(ByteArrayOutputStream b, long v, int n) {
        for (int i = 0; i < n; i++) {
            b.write((int) (v >>> (8 * i)) & 0xFF);
        }
    }
}
