package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The EROFS superblock (128 bytes at 1024 in block 0, {@code struct erofs_super_block}) and, with COMPR_CFGS,
 * the compression configuration records right after it: written by {@link #encode}, read by {@link #decode}.
 *
 * @param compat feature_compat (SB_CHKSUM: the checksum is computed by encode and checked by decode)
 * @param blkszbits log2 of the block size
 * @param extslots sb_extslots
 * @param rootNid root_nid (16 bits)
 * @param inodes inos
 * @param buildTime build_time (seconds)
 * @param blocks blocks (32 bits)
 * @param metaBlkaddr meta_blkaddr
 * @param uuid uuid
 * @param label volume_name (at most 16 bytes, NUL-padded)
 * @param incompat feature_incompat
 * @param comprAlgs with COMPR_CFGS: available_compr_algs (bit n = algorithm n); else lz4_max_distance
 * @param packedNid packed_nid (the packed inode, with FRAGMENTS)
 * @param comprConfigs with COMPR_CFGS: one record per bit of {@code comprAlgs}, lowest first, without its le16
 *     size (decode keeps the ones that fit in block 0)
 */
record Superblock(int compat, int blkszbits, int extslots, int rootNid, long inodes, long buildTime, long blocks, long metaBlkaddr,
        UUID uuid, byte[] label, int incompat, int comprAlgs, long packedNid, List<byte[]> comprConfigs) {

    /** Block 0 of the image: zeros, the superblock at 1024, the configuration records after it, the checksum. */
    byte[] encode() {
        byte[] block0 = new byte[BLOCK_SIZE];
        ByteBuffer b = ByteBuffer.wrap(block0).order(ByteOrder.LITTLE_ENDIAN);
        int s = SUPER_OFFSET;
        b.putInt(s, MAGIC);
        b.putInt(s + 8, compat);
        b.put(s + 12, (byte) blkszbits);
        b.put(s + 13, (byte) extslots);
        b.putShort(s + 14, (short) rootNid);
        b.putLong(s + 16, inodes);
        b.putLong(s + 24, buildTime);
        b.putInt(s + 36, (int) blocks);
        b.putInt(s + 40, (int) metaBlkaddr);
        b.putLong(s + 48, 0).putLong(s + 56, 0);
        ByteBuffer.wrap(block0, s + 48, 16).putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
        System.arraycopy(label, 0, block0, s + 64, label.length);
        b.putInt(s + 80, incompat);
        b.putShort(s + 84, (short) comprAlgs);
        b.putLong(s + 96, packedNid);
        if ((incompat & FEATURE_INCOMPAT_COMPR_CFGS) != 0) {
            int p = s + SUPER_SIZE;
            for (byte[] c : comprConfigs) {
                b.putShort(p, (short) c.length);
                System.arraycopy(c, 0, block0, p + 2, c.length);
                p += 2 + c.length;
            }
        }
        if ((compat & FEATURE_COMPAT_SB_CHKSUM) != 0) {
            b.putInt(s + 4, superblockChecksum(block0));
        }
        return block0;
    }

    /**
     * Reads block 0: refuses a bad magic, a block size other than 4096, a checksum mismatch (with SB_CHKSUM) and
     * extension slots; the caller checks the rest against the image.
     */
    static Superblock decode(byte[] block0) throws CorruptImageException {
        ByteBuffer b = ByteBuffer.wrap(block0).order(ByteOrder.LITTLE_ENDIAN);
        int s = SUPER_OFFSET;
        if (b.getInt(s) != MAGIC) {
            throw new CorruptImageException("bad superblock magic at offset 1024");
        }
        int compat = b.getInt(s + 8);
        if (b.get(s + 12) != BLOCK_BITS) {
            throw new CorruptImageException("block size 2^" + b.get(s + 12) + " is not supported (only 4096)");
        }
        if ((compat & FEATURE_COMPAT_SB_CHKSUM) != 0) {
            int stored = b.getInt(s + 4);
            byte[] copy = block0.clone();
            ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(s + 4, 0);
            int computed = superblockChecksum(copy);
            if (stored != computed) {
                throw new CorruptImageException(String.format("superblock checksum mismatch (stored %08x, computed %08x)", stored, computed));
            }
        }
        int extslots = b.get(s + 13) & 0xFF;
        if (extslots != 0) {
            throw new CorruptImageException("superblock extension slots are not supported");
        }
        int incompat = b.getInt(s + 80);
        int comprAlgs = b.getShort(s + 84) & 0xFFFF;
        List<byte[]> configs = new ArrayList<>();
        if ((incompat & FEATURE_INCOMPAT_COMPR_CFGS) != 0) {
            int p = s + SUPER_SIZE;
            for (int alg = 0; alg < 16; alg++) {
                if ((comprAlgs & (1 << alg)) == 0) {
                    continue;
                }
                if (p + 2 > BLOCK_SIZE) {
                    break;
                }
                int len = b.getShort(p) & 0xFFFF;
                if (p + 2 + len > BLOCK_SIZE) {
                    break;
                }
                byte[] c = new byte[len];
                System.arraycopy(block0, p + 2, c, 0, len);
                configs.add(c);
                p += 2 + len;
            }
        }
        int ll = 0;
        while (ll < 16 && block0[s + 64 + ll] != 0) {
            ll++;
        }
        byte[] label = new byte[ll];
        System.arraycopy(block0, s + 64, label, 0, ll);
        ByteBuffer ub = ByteBuffer.wrap(block0, s + 48, 16);
        UUID uuid = new UUID(ub.getLong(), ub.getLong());
        return new Superblock(compat, BLOCK_BITS, extslots, b.getShort(s + 14) & 0xFFFF, b.getLong(s + 16), b.getLong(s + 24),
                b.getInt(s + 36) & 0xFFFFFFFFL, b.getInt(s + 40) & 0xFFFFFFFFL, uuid, label, incompat, comprAlgs, b.getLong(s + 96),
                List.copyOf(configs));
    }

    String labelString() {
        return new String(label, StandardCharsets.UTF_8);
    }
}
