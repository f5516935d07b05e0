package dev.microforge.image.erofs;

import static dev.microforge.image.erofs.ErofsOnDisk.*;

import dev.microforge.image.CorruptImageException;
import dev.microforge.image.erofs.ErofsReuse.FileMap;
import dev.microforge.util.Events;
import dev.microforge.util.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The {@code --reuse} planning of an EROFS build: the store paths (groups) and their keys, opening and checking
 * the earlier image, deciding per store path whether its extents and inode maps are copied from it (and with
 * which relative maps), and this image's reuse table ({@link ErofsReuse}). Copying the blocks is the writer's.
 * Warnings and the summary go to the {@link Events} given; nothing here writes the image.
 */
final class ReusePlanner {
    /** Desc of an empty file; of a file that shares the data of a file of an earlier store path. */
    static final int EMPTY_DESC = describe(FileMap.EMPTY);
    static final int EXTERNAL_DESC = 0x45585431;

    /**
     * The earlier image: name (for messages), channel (the caller closes it) and a cached reader of it (for its
     * inodes), where its metadata starts, its blocks, its table.
     */
    record Old(String name, FileChannel ch, ErofsReuse.Cached cached, long metaBase, long blocks, long packedNid, ErofsReuse.Table table) {}

    /** A group copied from the earlier image: its entry there, its files' maps and its packed part's extents (relative). */
    record Plan(ErofsReuse.Group old, FileMap[] maps, List<Extent> partExtents) {}

    /**
     * The top-level entries (groups): {@code keys[g]} is "name narHash", or empty for an entry without narHash;
     * {@code dataOrder} the files store path after store path, each one's in inode order; group g's files are
     * {@code dataOrder[from[g], to[g])}.
     */
    record StorePaths(String[] keys, List<Inode.File> dataOrder, int[] from, int[] to) {
        int count() {
            return keys.length;
        }
    }

    /**
     * What the data pass wrote for one group: its data extent (first block, blocks, CRC32C); its packed part when
     * {@code hasPart} (fragment offset, length, first block, blocks, CRC32C, description of its extents);
     * {@code refused}: a tail did not fit the packed inode.
     */
    record Written(long dataStart, long dataBlocks, long dataCrc, boolean hasPart, long partStart, long partLength, long partBlock,
            long partBlocks, long partCrc, int partMapsCrc, boolean refused) {}

    /** The plan of a group that can be copied, or why it cannot: exactly one of the two is non-null. */
    private record Verdict(Plan plan, String why) {}

    private final ErofsWriter.Options opt;
    private final Events events;
    private final Set<String> corrupt;

    /**
     * {@code corrupt}: keys of store paths whose copied extents did not have their checksums in an earlier pass
     * over the same image (compressed again, with a warning).
     */
    ReusePlanner(ErofsWriter.Options opt, Events events, Set<String> corrupt) {
        this.opt = opt;
        this.events = events;
        this.corrupt = corrupt;
    }

    /** The groups of {@code inodes} (index 0 the root, numbered breadth-first) keyed by {@code narHashes}. */
    static StorePaths storePaths(List<Inode> inodes, Map<String, String> narHashes) {
        Inode.Directory root = (Inode.Directory) inodes.get(0);
        int groups = root.children.size();
        String[] keys = new String[groups];
        for (int g = 0; g < groups; g++) {
            String name = new String(root.names.get(g), StandardCharsets.ISO_8859_1);
            String nar = narHashes.get(name);
            keys[g] = nar == null ? "" : name + " " + nar;
        }
        List<Inode.File> files = new ArrayList<>();
        for (Inode i : inodes) {
            if (i instanceof Inode.File f) {
                files.add(f);
            }
        }
        files.sort(Comparator.comparingInt((Inode.File f) -> f.group).thenComparingInt(f -> f.index));
        int[] from = new int[groups];
        int[] to = new int[groups];
        for (int k = 0, g = 0; g < groups; g++) {
            from[g] = k;
            while (k < files.size() && files.get(k).group == g) {
                k++;
            }
            to[g] = k;
        }
        return new StorePaths(keys, files, from, to);
    }

    static int describe(FileMap m) {
        CRC32C c = new CRC32C();
        m.describe(c);
        return (int) c.getValue();
    }

    /** CRC32C of extents (start and kind, address and blocks) moved by {@code startBy} bytes and {@code addrBy} blocks. */
    static int describeExtents(List<Extent> list, long startBy, long addrBy) {
        List<Extent> moved = new ArrayList<>(list.size());
        for (Extent e : list) {
            moved.add(e.moved(startBy, addrBy));
        }
        return describe(new FileMap(LAYOUT_COMPRESSED_COMPACT, 0, false, moved, null));
    }

    /**
     * Opens the earlier image: it must exist and be an EROFS image (else bad input); null, with a warning, when
     * it has no usable reuse table or was built with other options.
     */
    Old open(Path reuse) throws IOException {
        if (!Files.isRegularFile(reuse)) {
            throw new UserError(reuse + ": --reuse image does not exist or is not a regular file");
        }
        FileChannel ch = FileChannel.open(reuse, StandardOpenOption.READ);
        try {
            byte[] head = ch.size() < BLOCK_SIZE ? new byte[0] : ErofsReuse.readAt(ch, 0, BLOCK_SIZE);
            if (head.length < BLOCK_SIZE || !ErofsReader.detect(head)) {
                throw new UserError(reuse + ": --reuse image is not an EROFS image");
            }
            String[] why = new String[1];
            ErofsReuse.Table t = null;
            Superblock sb = null;
            try {
                sb = Superblock.decode(head);
                long fsEnd = sb.blocks() * BLOCK_SIZE;
                if (sb.blocks() < 2 || fsEnd > ch.size() || sb.metaBlkaddr() >= sb.blocks()) {
                    why[0] = "block count " + sb.blocks() + " does not fit the file";
                } else {
                    t = ErofsReuse.read(ch, fsEnd, why);
                }
            } catch (CorruptImageException | RuntimeException e) {
                why[0] = "superblock unreadable (" + e.getMessage() + ")";
            }
            if (t == null) {
                events.warn(reuse + ": " + why[0] + "; nothing reused");
            } else if (!Arrays.equals(t.optionsDigest(), optionsDigest())) {
                events.warn(reuse + ": built with other image options; nothing reused");
                t = null;
            }
            if (t == null) {
                ch.close();
                return null;
            }
            return new Old(reuse.toString(), ch, new ErofsReuse.Cached(ch), sb.metaBlkaddr() * BLOCK_SIZE, sb.blocks(), sb.packedNid(), t);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Every option that decides the data's bytes and the inodes' maps, and the layout version, as a SHA-256. */
    byte[] optionsDigest() {
        String s = ErofsReuse.LAYOUT_VERSION + "\n" + opt.compression() + "\n" + opt.level() + "\n" + opt.pclusterSize() + "\n"
                + opt.dedupe() + "\n" + opt.ztailpacking() + "\n" + opt.fragments();
        return ErofsReuse.sha256(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Decides which groups are copied from {@code old}: same key (store path name and narHash), same file count
     * and sizes, the same files sharing data of an earlier store path ({@link Inode.File#dupOf} must already be
     * the data pass's decision), all tails in the packed inode, extents inside the earlier image whose blocks have
     * their recorded CRC32C, and inodes whose maps have theirs. The blocks' CRC32C is checked as they are copied
     * (the writer's data pass), not here; a store path whose blocks failed it in an earlier pass
     * ({@code corrupt}) is compressed again. Returns one entry per group, null for a group compressed again
     * (with a warning when the earlier image had its key).
     */
    Plan[] plan(Old old, StorePaths sp) throws IOException {
        int groups = sp.count();
        Plan[] plans = new Plan[groups];
        Map<String, ErofsReuse.Group> byKey = new HashMap<>();
        boolean anyPart = false;
        for (ErofsReuse.Group g : old.table().groups()) {
            if (!g.key().isEmpty()) {
                byKey.putIfAbsent(g.key(), g);
            }
            anyPart |= g.partLength() > 0;
        }
        List<Extent> oldPacked = null;
        String packedWhy = null;
        if (anyPart) {
            try {
                FileMap pm = old.packedNid() == 0 ? null
                        : ErofsReuse.readMap(old.cached(), old.metaBase(), old.packedNid(), -1, opt.pclusterSize() > BLOCK_SIZE);
                if (pm == null || pm.extents() == null || pm.layout() != LAYOUT_COMPRESSED_COMPACT) {
                    packedWhy = "no packed inode";
                } else {
                    oldPacked = pm.extents();
                }
            } catch (CorruptImageException | RuntimeException e) {
                packedWhy = "packed inode unreadable (" + e.getMessage() + ")";
            }
        }
        Map<Long, OldInode> inodes = readInodes(old, sp, byKey);
        for (int g = 0; g < groups; g++) {
            ErofsReuse.Group o = sp.keys()[g].isEmpty() ? null : byKey.get(sp.keys()[g]);
            if (o == null) {
                continue;
            }
            String why = o.partLength() > 0 && oldPacked == null ? packedWhy : null;
            if (why == null) {
                Verdict v = check(old, sp, o, g, oldPacked, inodes);
                plans[g] = v.plan();
                why = v.why();
            }
            if (why != null) {
                events.warn(old.name() + ": " + sp.keys()[g].split(" ")[0] + ": " + why + "; compressed again");
            }
        }
        // a copied part must land where a fresh build puts it: every tail of the image must fit the packed inode
        long packedBound = 0;
        for (int g = 0; g < groups; g++) {
            if (plans[g] != null) {
                packedBound += plans[g].old().partLength();
            } else {
                for (int k = sp.from()[g]; k < sp.to()[g]; k++) {
                    packedBound += sp.dataOrder().get(k).size;
                }
            }
            packedBound += BLOCK_SIZE;
        }
        if (opt.fragments() && packedBound > PackedInode.MAX) {
            events.warn(old.name() + ": the packed inode may fill up; nothing reused");
            Arrays.fill(plans, null);
        }
        int withFiles = 0;
        int copies = 0;
        for (int g = 0; g < groups; g++) {
            boolean hasFiles = sp.to()[g] > sp.from()[g];
            withFiles += hasFiles ? 1 : 0;
            copies += plans[g] != null && hasFiles ? 1 : 0;
        }
        events.info(old.name() + ": " + copies + " of " + withFiles + " store paths with data copied, " + (withFiles - copies) + " compressed");
        return plans;
    }

    /** Whether the earlier image's group {@code o} can stand for group {@code g}: its plan, or why not. */
    private Verdict check(Old old, StorePaths sp, ErofsReuse.Group o, int g, List<Extent> oldPacked, Map<Long, OldInode> inodes)
            throws IOException {
        int from = sp.from()[g];
        int n = sp.to()[g] - from;
        if (o.sizes().length != n) {
            return new Verdict(null, "other files");
        }
        if (o.refused()) {
            return new Verdict(null, "tails outside the packed inode");
        }
        for (int k = 0; k < n; k++) {
            Inode.File f = sp.dataOrder().get(from + k);
            if (o.sizes()[k] != f.size) {
                return new Verdict(null, "other file sizes");
            }
            if (o.external()[k] != (f.dupOf != null && f.dupOf.group != g)) {
                return new Verdict(null, "other duplicates in earlier store paths");
            }
        }
        long fsBlocks = old.metaBase() / BLOCK_SIZE;
        if (o.dataStart() < 1 || o.dataBlocks() < 0 || o.dataStart() + o.dataBlocks() > fsBlocks
                || (o.partLength() > 0 && (o.partBlock() < 1 || o.partBlocks() < 1 || o.partBlock() + o.partBlocks() > fsBlocks
                        || o.partLength() % BLOCK_SIZE != 0))) {
            return new Verdict(null, "extent outside the earlier image");
        }
        FileMap[] maps = new FileMap[n];
        CRC32C mc = new CRC32C();
        ByteBuffer d = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        boolean big = opt.pclusterSize() > BLOCK_SIZE;
        for (int k = 0; k < n; k++) {
            int desc;
            if (o.external()[k]) {
                desc = EXTERNAL_DESC;
            } else {
                try {
                    OldInode in = inodes.get(o.nids()[k]);
                    FileMap abs;
                    if (in != null && in.size() == o.sizes()[k]) {
                        if (in.error() != null) {
                            return new Verdict(null, "inode unreadable (" + in.error() + ")");
                        }
                        abs = in.map();
                    } else {
                        abs = ErofsReuse.readMap(old.cached(), old.metaBase(), o.nids()[k], o.sizes()[k], big);
                    }
                    FileMap m = abs.moved(-o.dataStart(), -o.partStart());
                    if (!inside(m, o)) {
                        return new Verdict(null, "inode outside its store path's extents");
                    }
                    maps[k] = m;
                    desc = describe(m);
                } catch (CorruptImageException | RuntimeException e) {
                    return new Verdict(null, "inode unreadable (" + e.getMessage() + ")");
                }
            }
            d.clear();
            mc.update(d.putInt(desc).array());
        }
        List<Extent> partExt = new ArrayList<>();
        int pmc = 0;
        if (o.partLength() > 0) {
            for (Extent e : oldPacked) {
                if (e.start() >= o.partStart() && e.start() < o.partStart() + o.partLength()) {
                    if (!e.inBlocks() || e.addr() < o.partBlock() || e.addr() + e.blocks() > o.partBlock() + o.partBlocks()) {
                        return new Verdict(null, "packed part outside its extent");
                    }
                    partExt.add(e.moved(-o.partStart(), -o.partBlock()));
                }
            }
            if (partExt.isEmpty() || partExt.get(0).start() != 0) {
                return new Verdict(null, "packed part does not start a pcluster");
            }
            pmc = describeExtents(partExt, 0, 0);
        }
        d.clear();
        mc.update(d.putInt(pmc).array());
        if (mc.getValue() != o.mapsCrc()) {
            return new Verdict(null, "inodes differ from their checksum (corrupt)");
        }
        if (corrupt.contains(o.key())) {
            return new Verdict(null, "data differs from its checksum (corrupt)");
        }
        return new Verdict(new Plan(o, maps, List.copyOf(partExt)), null);
    }

    /** An inode of the earlier image read for a file of {@code size} bytes: its map, or why it is unusable. */
    private record OldInode(long size, FileMap map, String error) {}

    /**
     * The inodes of the files of the store paths that the earlier image holds under the same key with as many
     * files, read in the order of their nids (the metadata once, front to back, instead of a seek per file);
     * an inode that cannot be read at all is left out (the check reads it again and fails as it would).
     */
    private Map<Long, OldInode> readInodes(Old old, StorePaths sp, Map<String, ErofsReuse.Group> byKey) {
        List<long[]> wanted = new ArrayList<>();
        for (int g = 0; g < sp.count(); g++) {
            ErofsReuse.Group o = sp.keys()[g].isEmpty() ? null : byKey.get(sp.keys()[g]);
            if (o == null || o.sizes().length != sp.to()[g] - sp.from()[g]) {
                continue;
            }
            for (int k = 0; k < o.sizes().length; k++) {
                if (!o.external()[k]) {
                    wanted.add(new long[] {o.nids()[k], o.sizes()[k]});
                }
            }
        }
        wanted.sort(Comparator.comparingLong((long[] w) -> w[0]).thenComparingLong(w -> w[1]));
        boolean big = opt.pclusterSize() > BLOCK_SIZE;
        Map<Long, OldInode> read = new HashMap<>(wanted.size() * 2);
        for (long[] w : wanted) {
            if (read.containsKey(w[0])) {
                continue;
            }
            try {
                read.put(w[0], new OldInode(w[1], ErofsReuse.readMap(old.cached(), old.metaBase(), w[0], w[1], big), null));
            } catch (CorruptImageException | RuntimeException e) {
                read.put(w[0], new OldInode(w[1], null, e.getMessage()));
            } catch (IOException e) {
                // left out
            }
        }
        return read;
    }

    /** Whether a relative map stays inside its group's extents. */
    private static boolean inside(FileMap m, ErofsReuse.Group o) {
        if (m.extents() == null) {
            return !m.hasBlocks() || (m.iu() >= 0 && m.iu() < o.dataBlocks());
        }
        for (Extent e : m.extents()) {
            if (e.inBlocks() && (e.addr() < 0 || e.addr() + e.blocks() > o.dataBlocks())) {
                return false;
            }
            if (e.kind() == Extent.Kind.FRAGMENT && (e.addr() < 0 || e.addr() >= o.partLength())) {
                return false;
            }
        }
        return true;
    }

    /**
     * This image's reuse table (a function of the tree and the options): per group, its key, what the data pass
     * {@code written} for it, and the CRC32C of its files' descriptions ({@link Inode.File#desc}) and its packed
     * part's.
     */
    ErofsReuse.Table table(StorePaths sp, List<Written> written) {
        int groups = sp.count();
        List<ErofsReuse.Group> list = new ArrayList<>(groups);
        ByteBuffer d = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        for (int g = 0; g < groups; g++) {
            Written w = written.get(g);
            int n = sp.to()[g] - sp.from()[g];
            long[] sizes = new long[n];
            long[] nids = new long[n];
            boolean[] ext = new boolean[n];
            CRC32C mc = new CRC32C();
            for (int k = 0; k < n; k++) {
                Inode.File f = sp.dataOrder().get(sp.from()[g] + k);
                sizes[k] = f.size;
                nids[k] = f.nid();
                ext[k] = f.dupOf != null && f.dupOf.group != g;
                d.clear();
                mc.update(d.putInt(f.desc).array());
            }
            d.clear();
            mc.update(d.putInt(w.hasPart() ? w.partMapsCrc() : 0).array());
            boolean hasPart = w.hasPart();
            list.add(new ErofsReuse.Group(sp.keys()[g], w.dataStart(), w.dataBlocks(), w.dataCrc(), hasPart ? w.partStart() : 0,
                    hasPart ? w.partLength() : 0, hasPart ? w.partBlock() : 0, hasPart ? w.partBlocks() : 0, hasPart ? w.partCrc() : 0,
                    w.refused(), mc.getValue(), sizes, nids, ext));
        }
        return new ErofsReuse.Table(optionsDigest(), list);
    }
}
