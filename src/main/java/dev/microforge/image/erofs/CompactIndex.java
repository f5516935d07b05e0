package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The compact lcluster index of a compressed file (COMPRESSED_COMPACT, zmap.c's layout), encoded by the writer and
 * decoded by the reader with the same code: the first lclusters in 4-byte packs (2 entries and a block address)
 * up to a 32-byte boundary, then 2-byte packs (16 entries of 14 bits and a block address) while 16 lclusters
 * remain, then 4-byte packs. An entry is a type (PLAIN, HEAD, NONHEAD) and 12 bits: a head's cluster offset, a
 * non-head's delta[0] (or CBLKCNT with big pclusters), or for the last entry of a pack delta[1].
 */
final class CompactIndex {
    private CompactIndex() {}

    /** Bytes of the compact index packs of {@code n} lclusters (see {@link #encode}). */
    static long size(long n) {
        long rest = Math.max(0, n - 6);
        long c2b = n > 6 ? rest / 16 * 16 : 0;
        long end4b = n > 6 ? rest - c2b : 0;
        return (Math.min(n, 6) + 1) / 2 * 8 + c2b * 2 + (end4b + 1) / 2 * 8;
    }

    /**
     * The packs of a compact index for {@code n} lclusters. The map header starts 32-aligned (an inode is 32 or
     * 64 bytes at a 32-byte slot), so the packs start 8 bytes past a 32-byte boundary: six lclusters in 4-byte
     * packs (2 per pack), then 2-byte packs (16 per pack, 14 bits each) while 16 remain, then 4-byte packs.
     * Each pack ends with a block address from which Linux counts the pack's heads (zmap.c
     * unpack_compacted_index); it is derived by decoding the pack as the kernel does, and every head's block
     * is checked against the extent's.
     */
    static byte[] encode(List<Extent> extents, int n, boolean big) {
        final long ebase = 8; // the index area's offset modulo 32, as in the image
        int initial4b = (int) ((32 - ebase % 32) / 4);
        int c2b = initial4b < n ? (n - initial4b) / 16 * 16 : 0;
        int lastShift = shift(initial4b, c2b, n - 1);
        long lastPos = pos(ebase, initial4b, c2b, n - 1);
        int lastPack = lastShift == 2 ? 8 : 32;
        byte[] area = new byte[(int) (lastPos / lastPack * lastPack + lastPack - ebase)];
        int[] headLcn = new int[extents.size()];
        for (int k = 0; k < extents.size(); k++) {
            headLcn[k] = (int) (extents.get(k).start() / BLOCK_SIZE);
        }
        long[] wantBlk = new long[n]; // -1: not a head with blocks
        int e = 0;
        for (int lcn = 0; lcn < n; lcn++) {
            while (e + 1 < extents.size() && headLcn[e + 1] <= lcn) {
                e++;
            }
            Extent ex = extents.get(e);
            int shift = shift(initial4b, c2b, lcn);
            long pos = pos(ebase, initial4b, c2b, lcn);
            int vcnt = shift == 2 ? 2 : 16;
            int packSize = vcnt << shift;
            int encodebits = (packSize - 4) * 8 / vcnt;
            long base = pos / packSize * packSize;
            int idx = (int) ((pos - base) >> shift);
            int type;
            int lo;
            wantBlk[lcn] = -1;
            if (headLcn[e] == lcn) {
                type = ex.kind() == Extent.Kind.PLAIN ? CLUSTER_TYPE_PLAIN : CLUSTER_TYPE_HEAD;
                lo = (int) (ex.start() % BLOCK_SIZE);
                if (ex.inBlocks()) {
                    wantBlk[lcn] = ex.addr();
                }
            } else {
                type = CLUSTER_TYPE_NONHEAD;
                int d0 = lcn - headLcn[e];
                if (big && d0 == 1) {
                    // the first non-head lcluster of a pcluster holds its compressed block count
                    lo = D0_CBLKCNT | Math.max(1, ex.blocks());
                } else if (idx + 1 == vcnt) {
                    // the last lcluster of a pack keeps delta[1] (the kernel derives its delta[0])
                    int next = e + 1 < extents.size() ? headLcn[e + 1] : n;
                    lo = Math.min(next - lcn, D0_CBLKCNT - 1);
                } else {
                    lo = d0;
                }
                if (lo >= BLOCK_SIZE || (!(big && d0 == 1) && (lo & D0_CBLKCNT) != 0)) {
                    throw new IllegalStateException("lcluster distance " + d0 + " does not fit a compact index");
                }
            }
            putBits(area, (int) (base - ebase), encodebits * idx, (type << 12) | lo);
        }
        // block addresses: decode each pack with address 0, then set it so that its first head lands on its block
        int[] type = new int[n];
        int[] lo = new int[n];
        int[] cblk = new int[n];
        long[] pblk = new long[n];
        try {
            for (int lcn = 0; lcn < n; lcn++) {
                unpack(area, ebase, pos(ebase, initial4b, c2b, lcn),
                        shift(initial4b, c2b, lcn), big, lcn, type, lo, cblk, pblk);
            }
            long[] packAddr = new long[area.length / 8 + 1];
            boolean[] set = new boolean[packAddr.length];
            for (int lcn = 0; lcn < n; lcn++) {
                if (wantBlk[lcn] >= 0) {
                    int shift = shift(initial4b, c2b, lcn);
                    long pos = pos(ebase, initial4b, c2b, lcn);
                    int packSize = (shift == 2 ? 2 : 16) << shift;
                    int pack = (int) ((pos / packSize * packSize - ebase) / 8);
                    if (!set[pack]) {
                        set[pack] = true;
                        packAddr[pack] = wantBlk[lcn] - pblk[lcn];
                        int end = (int) (pos / packSize * packSize - ebase) + packSize - 4;
                        ByteBuffer.wrap(area, end, 4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) packAddr[pack]);
                    }
                }
            }
            for (int lcn = 0; lcn < n; lcn++) {
                unpack(area, ebase, pos(ebase, initial4b, c2b, lcn),
                        shift(initial4b, c2b, lcn), big, lcn, type, lo, cblk, pblk);
                if (wantBlk[lcn] >= 0 && pblk[lcn] != wantBlk[lcn]) {
                    throw new IllegalStateException("compact index: lcluster " + lcn + " decodes to block " + pblk[lcn] + ", expected " + wantBlk[lcn]);
                }
            }
        } catch (IOException ex) {
            throw new IllegalStateException("compact index does not decode: " + ex.getMessage(), ex);
        }
        return area;
    }

    /** Bytes of the area {@link #encode} writes for {@code n} lclusters (its packs, the last one whole). */
    static int areaSize(int n) {
        final long ebase = 8;
        int initial4b = (int) ((32 - ebase % 32) / 4);
        int c2b = initial4b < n ? (n - initial4b) / 16 * 16 : 0;
        int lastShift = shift(initial4b, c2b, n - 1);
        long lastPos = pos(ebase, initial4b, c2b, n - 1);
        int lastPack = lastShift == 2 ? 8 : 32;
        return (int) (lastPos / lastPack * lastPack + lastPack - ebase);
    }

    /**
     * The extents {@link #encode} was given, from its area: one per PLAIN or HEAD lcluster (start, kind, block,
     * block count from CBLKCNT with big pclusters); the last one is {@code lastKind} when that is INLINE or
     * FRAGMENT (address {@code fragOff} for a fragment, 0 and no blocks for both). The compressed length
     * ({@code produced}) is not in the index: 0. {@link CorruptImageException} when the area does not decode to
     * extents the writer could have written.
     */
    static List<Extent> decode(byte[] area, int n, boolean big, Extent.Kind lastKind, long fragOff) throws IOException {
        final long ebase = 8;
        int initial4b = (int) ((32 - ebase % 32) / 4);
        int c2b = initial4b < n ? (n - initial4b) / 16 * 16 : 0;
        if (n <= 0 || area.length < areaSize(n)) {
            throw new CorruptImageException("compact index of " + n + " lclusters is " + area.length + " bytes");
        }
        int[] type = new int[n];
        int[] lo = new int[n];
        int[] cblk = new int[n];
        long[] pblk = new long[n];
        for (int lcn = 0; lcn < n; lcn++) {
            unpack(area, ebase, pos(ebase, initial4b, c2b, lcn), shift(initial4b, c2b, lcn), big, lcn, type, lo, cblk, pblk);
        }
        List<Extent> out = new java.util.ArrayList<>();
        for (int lcn = 0; lcn < n; lcn++) {
            if (type[lcn] == CLUSTER_TYPE_NONHEAD) {
                if (lcn == 0) {
                    throw new CorruptImageException("compact index starts with a non-head lcluster");
                }
                continue;
            }
            if (type[lcn] != CLUSTER_TYPE_PLAIN && type[lcn] != CLUSTER_TYPE_HEAD) {
                throw new CorruptImageException("lcluster " + lcn + " has type " + type[lcn]);
            }
            long start = (long) lcn * BLOCK_SIZE + lo[lcn];
            if (type[lcn] == CLUSTER_TYPE_PLAIN) {
                out.add(Extent.plain(start, pblk[lcn]));
            } else {
                int blocks = big && lcn + 1 < n && type[lcn + 1] == CLUSTER_TYPE_NONHEAD && cblk[lcn + 1] > 0 ? cblk[lcn + 1] : 1;
                out.add(Extent.compressed(start, pblk[lcn], blocks, 0));
            }
        }
        if (out.isEmpty()) {
            throw new CorruptImageException("compact index without a head lcluster");
        }
        if (lastKind == Extent.Kind.INLINE || lastKind == Extent.Kind.FRAGMENT) {
            Extent l = out.get(out.size() - 1);
            out.set(out.size() - 1, new Extent(l.start(), lastKind, lastKind == Extent.Kind.FRAGMENT ? fragOff : 0, 0, 0));
        }
        return out;
    }

    private static void putBits(byte[] a, int byteBase, int bitPos, int v) {
        int p = byteBase + bitPos / 8;
        int sh = bitPos & 7;
        a[p] |= (byte) (v << sh);
        a[p + 1] |= (byte) (v >>> (8 - sh));
        if (sh > 2) {
            a[p + 2] |= (byte) (v >>> (16 - sh));
        }
    }

    /** 1 for an lcluster in the 2-byte packs, 2 for one in the 4-byte packs (log2 of its entry size). */
    static int shift(int initial4b, int compacted2b, int lcn) {
        return lcn >= initial4b && lcn < initial4b + compacted2b ? 1 : 2;
    }

    /** The byte offset of lcluster {@code lcn}'s entry, where the index area starts at {@code ebase}. */
    static long pos(long ebase, int initial4b, int compacted2b, int lcn) {
        if (lcn < initial4b) {
            return ebase + lcn * 4L;
        }
        lcn -= initial4b;
        long pos = ebase + initial4b * 4L;
        if (lcn < compacted2b) {
            return pos + lcn * 2L;
        }
        return pos + compacted2b * 2L + (lcn - compacted2b) * 4L;
    }

    private static int bits(byte[] a, int byteBase, int bitPos) {
        int p = byteBase + bitPos / 8;
        int v = (a[p] & 0xFF) | (a[p + 1] & 0xFF) << 8 | (a[p + 2] & 0xFF) << 16 | (a[p + 3] & 0xFF) << 24;
        return v >>> (bitPos & 7);
    }

    /** One lcluster of a compact index pack, decoded as zmap.c's unpack_compacted_index does. */
    static void unpack(byte[] area, long ebase, long pos, int shift, boolean big, int lcn,
            int[] type, int[] lo, int[] cblk, long[] pblk) throws IOException {
        int vcnt = shift == 2 ? 2 : 16;
        int packSize = vcnt << shift;
        int encodebits = (packSize - 4) * 8 / vcnt;
        long base = pos / packSize * packSize;
        int in = (int) (base - ebase);
        int i = (int) ((pos - base) >> shift);
        int v = bits(area, in, encodebits * i);
        int l = v & (BLOCK_SIZE - 1);
        int t = (v >>> 12) & 3;
        type[lcn] = t;
        cblk[lcn] = -1;
        if (t == CLUSTER_TYPE_NONHEAD) {
            if ((l & D0_CBLKCNT) != 0) {
                if (!big) {
                    throw new CorruptImageException("lcluster " + lcn + " has a compressed block count but no big pclusters");
                }
                cblk[lcn] = l & ~D0_CBLKCNT;
                lo[lcn] = 1;
            } else if (i + 1 != vcnt) {
                lo[lcn] = l;
            } else {
                // the last lcluster of a pack keeps delta[1]; delta[0] comes from the one before it
                int pv = bits(area, in, encodebits * (i - 1));
                int pl = pv & (BLOCK_SIZE - 1);
                if (((pv >>> 12) & 3) != CLUSTER_TYPE_NONHEAD) {
                    pl = 0;
                } else if ((pl & D0_CBLKCNT) != 0) {
                    pl = 1;
                }
                lo[lcn] = pl + 1;
            }
            return;
        }
        lo[lcn] = l;
        int nblk;
        if (!big) {
            nblk = 1;
            while (i > 0) {
                --i;
                int w = bits(area, in, encodebits * i);
                if (((w >>> 12) & 3) == CLUSTER_TYPE_NONHEAD) {
                    i -= w & (BLOCK_SIZE - 1);
                }
                if (i >= 0) {
                    ++nblk;
                }
            }
        } else {
            nblk = 0;
            while (i > 0) {
                --i;
                int w = bits(area, in, encodebits * i);
                int wl = w & (BLOCK_SIZE - 1);
                if (((w >>> 12) & 3) == CLUSTER_TYPE_NONHEAD) {
                    if ((wl & D0_CBLKCNT) != 0) {
                        --i;
                        nblk += wl & ~D0_CBLKCNT;
                        continue;
                    }
                    if (wl <= 1) {
                        throw new CorruptImageException("lcluster " + lcn + ": a big pcluster's non-head lcluster looks back " + wl);
                    }
                    i -= wl - 2;
                    continue;
                }
                ++nblk;
            }
        }
        int e = in + packSize - 4;
        long blk = (area[e] & 0xFFL) | (area[e + 1] & 0xFFL) << 8 | (area[e + 2] & 0xFFL) << 16 | (area[e + 3] & 0xFFL) << 24;
        pblk[lcn] = blk + nblk;
    }
}
