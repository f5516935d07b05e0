package dev.microforge.closure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.microforge.store.Hash;
import dev.microforge.store.Nar;
import dev.microforge.store.ReferenceScanner;
import dev.microforge.store.StorePath;
import dev.microforge.testkit.Exec;
import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import dev.microforge.util.Events;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store model against Nix 2.8 itself, on real store paths built from tests/fixtures/store-model.nix. */
@Tag("oracle")
class StoreModelOracleTest {
    static Path top;
    static List<String> members;
    static Map<String, JsonNode> nixInfo = new TreeMap<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void build() throws Exception {
        Tools.require("nix-build");
        Tools.require("nix-store");
        Tools.require("nix");
        top = NixFixtures.storeModel("top");
        members = NixFixtures.requisites(top);
        JsonNode list = new ObjectMapper().readTree(NixFixtures.pathInfoJson(true, List.of(top.toString())));
        for (JsonNode n : list) {
            nixInfo.put(n.get("path").asText(), n);
        }
        assertEquals(new TreeSet<>(members), nixInfo.keySet());
        assertEquals(9, members.size(), "the fixture closure: " + members);
    }

    @Test
    void narHashAndNarSizeEqualNixsForEveryPath() throws Exception {
        for (String p : members) {
            Nar.Info info = Nar.hash(Path.of(p));
            JsonNode n = nixInfo.get(p);
            assertEquals(n.get("narHash").asText(), info.narHash().toSri(), p);
            assertEquals(n.get("narSize").asLong(), info.narSize(), p);
        }
    }

    @Test
    void dumpIsByteForByteNixStoreDump() throws Exception {
        for (String p : members) {
            ByteArrayOutputStream ours = new ByteArrayOutputStream();
            Nar.dump(Path.of(p), ours);
            assertArrayEquals(NixFixtures.dump(p), ours.toByteArray(), p);
        }
    }

    @Test
    void scannedReferencesEqualNixsRegisteredReferences() throws Exception {
        List<StorePath> candidates = new ArrayList<>();
        for (String m : members) {
            candidates.add(StorePath.parse("/nix/store", m));
        }
        boolean sawSelf = false;
        for (String p : members) {
            ReferenceScanner sc = new ReferenceScanner(ReferenceScanner.hashPartsOf(candidates));
            Nar.hash(Path.of(p), sc, Events.NONE);
            List<String> ours = sc.foundPaths(candidates).stream().map(StorePath::path).toList();
            List<String> nix = new ArrayList<>(new TreeSet<>(NixFixtures.references(p)));
            assertEquals(nix, ours, p);
            sawSelf |= nix.contains(p);
        }
        assertTrue(sawSelf, "the fixture has self-references");
    }

    @Test
    void everyReaderGivesTheSameGraph() throws Exception {
        Path graphFile = NixFixtures.storeModel("graph");
        Path closureInfo = NixFixtures.storeModel("closureInfo");
        Path json = Files.write(tmp.resolve("path-info.json"), NixFixtures.pathInfoJson(true, List.of(top.toString())));
        Path dumpDb = Files.write(tmp.resolve("dump-db"), NixFixtures.dumpDb(members));

        ClosureGraph fromDumpDb = ClosureReader.read(dumpDb);
        ClosureGraph fromJson = ClosureReader.read(json);
        ClosureGraph fromInfo = ClosureReader.read(closureInfo);
        ClosureGraph fromRegistration = ClosureReader.read(closureInfo.resolve("registration"), ClosureFormat.REGISTRATION, "/nix/store");
        ClosureGraph fromExport = ClosureReader.read(graphFile);
        ClosureGraph fromStore = ClosureReader.fromStore(List.of(top.toString()), "/nix/store");
        assertEquals(ClosureFormat.DUMP_DB, ClosureReader.detect("x", Files.readAllBytes(dumpDb)));
        assertEquals(ClosureFormat.REGISTRATION, ClosureReader.detect("x", Files.readAllBytes(closureInfo.resolve("registration"))));
        assertEquals(ClosureFormat.EXPORT_REFERENCES_GRAPH, ClosureReader.detect("x", Files.readAllBytes(graphFile)));

        // full information (hash, size, references, deriver): dump-db, path-info JSON, --from-store
        assertEquals(fromDumpDb.paths(), fromJson.paths());
        assertEquals(fromDumpDb.paths(), fromStore.paths());
        assertEquals(List.of(StorePath.parse("/nix/store", top.toString())), fromStore.roots());
        // closureInfo carries no derivers; exportReferencesGraph only references
        List<PathInfo> noDerivers = fromDumpDb.paths().stream()
                .map(p -> new PathInfo(p.path(), p.references(), p.narHash(), p.narSize(), null)).toList();
        assertEquals(noDerivers, fromInfo.paths());
        assertEquals(noDerivers, fromRegistration.paths());
        List<PathInfo> refsOnly = fromDumpDb.paths().stream().map(p -> new PathInfo(p.path(), p.references())).toList();
        assertEquals(refsOnly, fromExport.paths());
        for (PathInfo pi : fromJson.paths()) {
            assertEquals(new TreeSet<>(NixFixtures.references(pi.path().path())),
                    new TreeSet<>(pi.references().stream().map(StorePath::path).toList()));
        }
        assertEquals(members.size(), fromExport.size());
    }

    @Test
    void registrationIsWhatClosureInfoWritesAndNixStoreLoadDbAccepts() throws Exception {
        Path closureInfo = NixFixtures.storeModel("closureInfo");
        ClosureGraph g = ClosureReader.read(Files.write(tmp.resolve("dump-db"), NixFixtures.dumpDb(members)));
        assertArrayEquals(Files.readAllBytes(closureInfo.resolve("registration")), Registration.write(g, false));

        // with derivers: load into an empty chroot store and dump it again: Nix must see the same database
        Path reg = Files.write(tmp.resolve("registration"), Registration.write(g));
        Path root = tmp.resolve("chroot");
        String nixStore = Tools.require("nix-store").toString();
        List<String> load = List.of("/bin/sh", "-c", "exec \"$0\" --store \"local?root=$1\" --load-db < \"$2\"",
                nixStore, root.toString(), reg.toString());
        Exec.run(load, null, null, 120).check(load);
        List<String> dump = List.of(nixStore, "--store", "local?root=" + root, "--dump-db");
        byte[] reloaded = Exec.run(dump, null, null, 120).check(dump).stdout();
        ClosureGraph again = ClosureReader.read(Files.write(tmp.resolve("reloaded"), reloaded));
        assertEquals(g.paths(), again.paths());
        assertEquals(new String(NixFixtures.dumpDb(members), StandardCharsets.US_ASCII).length(), reloaded.length);
    }

    @Test
    void closureScanAgreesWithEveryFormat() throws Exception {
        for (Path f : List.of(NixFixtures.storeModel("graph"), NixFixtures.storeModel("closureInfo"))) {
            ClosureGraph g = ClosureReader.read(f);
            List<ClosureScan.Result> results = ClosureScan.scan(g, Path.of("/nix/store"), 2, Events.NONE);
            assertEquals(List.of(), ClosureScan.compare(g, results), f.toString());
            for (ClosureScan.Result r : results) {
                assertEquals(Hash.parse(nixInfo.get(r.path().path()).get("narHash").asText(), null), r.narHash());
            }
        }
    }
}
