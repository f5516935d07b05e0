package dev.microforge.closure;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.microforge.store.Hash;
import dev.microforge.store.StorePath;
import dev.microforge.util.JsonPretty;
import dev.microforge.util.UserError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code nix path-info --json} in every shape Nix has printed:
 * <ul>
 * <li>a list of objects with {@code path} (Nix up to 2.18; invalid paths as {@code {"path":..,"valid":false}});</li>
 * <li>an object keyed by store path, {@code null} for an invalid path (Nix 2.19 to 2.32);</li>
 * <li>the versioned form {@code {"version":N,"storeDir":D,"info":{<basename>:{..}|null}}} ({@code --json-format 2}
 * and later), where store paths are base names and hashes may be structured objects
 * {@code {"algorithm":..,"format":..,"hash":..}}.</li>
 * </ul>
 * Fields read: {@code path}, {@code narHash}, {@code narSize}, {@code references}, {@code deriver}; others
 * (closureSize, registrationTime, signatures, ca, ...) are skipped. An invalid path is an error: a closure
 * must consist of valid paths.
 */
public final class PathInfoJson {
    private static final JsonFactory JSON = JsonFactory.builder().build();

    private PathInfoJson() {}

    /** A string value and the line it is on. */
    private record Loc(String text, int line) {}

    /** What an info object says, before the store directory is known. */
    private static final class RawInfo {
        Loc key;
        Loc path;
        Loc narHash;
        long narSize = -1;
        final List<Loc> refs = new ArrayList<>();
        Loc deriver;
        Loc storeDir;
        boolean invalid;
        int line;
    }

    static ClosureGraph read(String source, String storeDir, byte[] content) {
        List<RawInfo> infos = new ArrayList<>();
        String fileStoreDir = null;
        boolean baseNames = false;
        try (JsonParser p = JSON.createParser(content)) {
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_ARRAY) {
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    expect(source, p, t == JsonToken.START_OBJECT, "expected an object in the list");
                    infos.add(info(source, p, null));
                }
            } else if (t == JsonToken.START_OBJECT) {
                t = p.nextToken();
                if (t == JsonToken.FIELD_NAME && !p.currentName().startsWith("/")) {
                    // versioned form
                    baseNames = true;
                    boolean sawInfo = false;
                    for (; t != JsonToken.END_OBJECT; t = p.nextToken()) {
                        String name = p.currentName();
                        int line = line(p);
                        JsonToken v = p.nextToken();
                        switch (name) {
                            case "version" -> {
                                expect(source, p, v == JsonToken.VALUE_NUMBER_INT, "'version' must be an integer");
                                int version = p.getIntValue();
                                if (version < 1 || version > 3) {
                                    throw UserError.at(source, line, "unsupported path-info JSON version " + version
                                            + " (microforge reads versions 1 to 3)");
                                }
                            }
                            case "storeDir" -> {
                                expect(source, p, v == JsonToken.VALUE_STRING, "'storeDir' must be a string");
                                fileStoreDir = p.getText();
                                if (!fileStoreDir.equals(storeDir)) {
                                    throw UserError.at(source, line, "the file's storeDir " + fileStoreDir
                                            + " differs from the store directory " + storeDir + " (use --store-dir)");
                                }
                            }
                            case "info" -> {
                                expect(source, p, v == JsonToken.START_OBJECT, "'info' must be an object keyed by store path");
                                keyed(source, p, infos);
                                sawInfo = true;
                            }
                            default -> {
                                if (name.contains("/") || name.length() > StorePath.HASH_LENGTH && name.charAt(StorePath.HASH_LENGTH) == '-') {
                                    throw UserError.at(source, line, "unexpected key '" + Records.shown(name)
                                            + "': neither a store path nor a field of the versioned form");
                                }
                                p.skipChildren();
                            }
                        }
                    }
                    if (!sawInfo) {
                        throw UserError.at(source, 1, "no 'info' object: not nix path-info JSON");
                    }
                } else {
                    if (t != JsonToken.END_OBJECT) {
                        keyedFrom(source, p, infos, t);
                    }
                }
            } else {
                throw UserError.at(source, t == null ? 1 : line(p), "expected a JSON list or object (nix path-info --json output)");
            }
            if (p.nextToken() != null) {
                throw UserError.at(source, line(p), "unexpected data after the JSON value");
            }
        } catch (JsonProcessingException e) {
            int line = e.getLocation() != null ? e.getLocation().getLineNr() : 1;
            throw UserError.at(source, Math.max(1, line), "invalid JSON: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new UserError(source + ": cannot read: " + e.getMessage(), e);
        }
        return build(source, storeDir, infos, baseNames);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static int line(JsonParser p) {
        return p.currentTokenLocation().getLineNr();
    }

    private static void expect(String source, JsonParser p, boolean ok, String message) {
        if (!ok) {
            throw UserError.at(source, line(p), message);
        }
    }

    /** Reads the entries of an object keyed by store path (current token: START_OBJECT). */
    private static void keyed(String source, JsonParser p, List<RawInfo> infos) throws IOException {
        JsonToken t = p.nextToken();
        if (t != JsonToken.END_OBJECT) {
            keyedFrom(source, p, infos, t);
        }
    }

    /** Continues an object keyed by store path; the current token is the first FIELD_NAME. */
    private static void keyedFrom(String source, JsonParser p, List<RawInfo> infos, JsonToken t) throws IOException {
        for (; t != JsonToken.END_OBJECT; t = p.nextToken()) {
            Loc key = new Loc(p.currentName(), line(p));
            JsonToken v = p.nextToken();
            if (v == JsonToken.VALUE_NULL) {
                RawInfo ri = new RawInfo();
                ri.key = key;
                ri.invalid = true;
                ri.line = key.line();
                infos.add(ri);
            } else {
                expect(source, p, v == JsonToken.START_OBJECT, "the value of '" + Records.shown(key.text()) + "' must be an object or null");
                infos.add(info(source, p, key));
            }
        }
    }

    /** Reads one info object (current token: START_OBJECT). */
    private static RawInfo info(String source, JsonParser p, Loc key) throws IOException {
        RawInfo ri = new RawInfo();
        ri.key = key;
        ri.line = key != null ? key.line() : line(p);
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "path" -> {
                    expect(source, p, v == JsonToken.VALUE_STRING, "'path' must be a string");
                    ri.path = new Loc(p.getText(), line(p));
                }
                case "narHash" -> ri.narHash = hash(source, p, v);
                case "narSize" -> {
                    expect(source, p, v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
                            && p.getLongValue() >= 0, "'narSize' must be a non-negative integer");
                    ri.narSize = p.getLongValue();
                }
                case "references" -> {
                    expect(source, p, v == JsonToken.START_ARRAY, "'references' must be a list of store paths");
                    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                        expect(source, p, t == JsonToken.VALUE_STRING, "a reference must be a string");
                        ri.refs.add(new Loc(p.getText(), line(p)));
                    }
                }
                case "deriver" -> {
                    if (v != JsonToken.VALUE_NULL) {
                        expect(source, p, v == JsonToken.VALUE_STRING, "'deriver' must be a string or null");
                        ri.deriver = new Loc(p.getText(), line(p));
                    }
                }
                case "storeDir" -> {
                    expect(source, p, v == JsonToken.VALUE_STRING, "'storeDir' must be a string");
                    ri.storeDir = new Loc(p.getText(), line(p));
                }
                case "valid" -> {
                    expect(source, p, v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE, "'valid' must be true or false");
                    ri.invalid = v == JsonToken.VALUE_FALSE;
                }
                default -> p.skipChildren();
            }
        }
        return ri;
    }

    /** A hash: a string in any form Nix prints, or a structured {"algorithm","format","hash"} object. */
    private static Loc hash(String source, JsonParser p, JsonToken v) throws IOException {
        int line = line(p);
        if (v == JsonToken.VALUE_STRING) {
            return new Loc(p.getText(), line);
        }
        expect(source, p, v == JsonToken.START_OBJECT, "'narHash' must be a string or a hash object");
        String algo = null;
        String format = null;
        String hash = null;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
            String name = p.currentName();
            JsonToken x = p.nextToken();
            if (x == JsonToken.VALUE_STRING && (name.equals("algorithm") || name.equals("format") || name.equals("hash"))) {
                switch (name) {
                    case "algorithm" -> algo = p.getText();
                    case "format" -> format = p.getText();
                    default -> hash = p.getText();
                }
            } else {
                p.skipChildren();
            }
        }
        if (algo == null || hash == null) {
            throw UserError.at(source, line, "a hash object needs 'algorithm' and 'hash'");
        }
        String text;
        if (format == null || format.equals("sri")) {
            text = hash.contains("-") || hash.contains(":") ? hash : algo + "-" + hash;
        } else {
            switch (format) {
                case "base64" -> text = algo + "-" + hash;
                case "base16", "nix32", "base32" -> text = algo + ":" + hash;
                default -> throw UserError.at(source, line, "unknown hash format '" + Records.shown(format) + "'");
            }
        }
        return new Loc(text, line);
    }

    private static ClosureGraph build(String source, String storeDir, List<RawInfo> infos, boolean baseNames) {
        List<Records.Rec> recs = new ArrayList<>(infos.size());
        for (RawInfo ri : infos) {
            Loc pathLoc = ri.path != null ? ri.path : ri.key;
            if (pathLoc == null) {
                throw UserError.at(source, ri.line, "an entry without 'path'");
            }
            StorePath path = storePath(source, storeDir, pathLoc, baseNames);
            if (ri.key != null && ri.path != null && !storePath(source, storeDir, ri.key, baseNames).equals(path)) {
                throw UserError.at(source, ri.path.line(), "'path' " + path + " differs from its key " + ri.key.text());
            }
            if (ri.storeDir != null && !ri.storeDir.text().equals(storeDir)) {
                throw UserError.at(source, ri.storeDir.line(), "storeDir " + Records.shown(ri.storeDir.text())
                        + " differs from the store directory " + storeDir + " (use --store-dir)");
            }
            if (ri.invalid) {
                throw UserError.at(source, ri.line, path + " is not a valid path in the store that printed this file"
                        + " (a closure must consist of valid paths)");
            }
            if (ri.narHash == null || ri.narSize < 0) {
                throw UserError.at(source, ri.line, path + " has no " + (ri.narHash == null ? "'narHash'" : "'narSize'"));
            }
            Hash h;
            try {
                h = Hash.parse(ri.narHash.text(), "sha256");
            } catch (IllegalArgumentException e) {
                throw UserError.at(source, ri.narHash.line(), "invalid narHash of " + path + ": " + e.getMessage());
            }
            List<StorePath> refs = new ArrayList<>();
            int[] lines = new int[ri.refs.size()];
            for (int i = 0; i < ri.refs.size(); i++) {
                refs.add(storePath(source, storeDir, ri.refs.get(i), baseNames));
                lines[i] = ri.refs.get(i).line();
            }
            StorePath deriver = ri.deriver == null ? null : storePath(source, storeDir, ri.deriver, baseNames);
            recs.add(new Records.Rec(path, ri.line, refs, lines, h, ri.narSize, deriver));
        }
        return Records.build(source, storeDir, recs, List.of());
    }

    /** Full paths, or base names in the versioned form (where a full path is accepted too). */
    private static StorePath storePath(String source, String storeDir, Loc loc, boolean baseNames) {
        String text = loc.text();
        try {
            if (baseNames && !text.startsWith("/")) {
                return StorePath.parseBaseName(storeDir, text);
            }
            return StorePath.parse(storeDir, text);
        } catch (IllegalArgumentException e) {
            throw UserError.at(source, loc.line(), "expected a store path, got '" + Records.shown(text) + "': " + e.getMessage());
        }
    }

    /**
     * The graph in the list shape of {@code nix path-info --json} (Nix up to 2.18): per path {@code path},
     * {@code narHash} (SRI) and {@code narSize} when known, {@code references}, {@code closureSize} when every
     * size in its closure is known, {@code deriver} when known. Pretty-printed, ends with a newline.
     */
    public static byte[] writeList(ClosureGraph g) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (Writer w = new OutputStreamWriter(bos, StandardCharsets.UTF_8)) {
            writeList(g, w);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bos.toByteArray();
    }

    /**
     * As {@link #writeList(ClosureGraph)}, streamed to {@code out} (one path at a time: the output of a million paths is
     * never in memory as a whole). {@code out} is flushed, not closed.
     */
    public static void writeList(ClosureGraph g, Writer out) throws IOException {
        long[] closureSizes = ClosureSizes.of(g);
        try (JsonGenerator j = JSON.createGenerator(out).disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)) {
            j.setPrettyPrinter(JsonPretty.printer());
            j.writeStartArray();
            for (int i = 0; i < g.size(); i++) {
                PathInfo pi = g.at(i);
                j.writeStartObject();
                j.writeStringField("path", pi.path().path());
                if (pi.narHash() != null) {
                    j.writeStringField("narHash", pi.narHash().toSri());
                }
                if (pi.hasNarSize()) {
                    j.writeNumberField("narSize", pi.narSize());
                }
                j.writeArrayFieldStart("references");
                for (StorePath r : pi.references()) {
                    j.writeString(r.path());
                }
                j.writeEndArray();
                if (closureSizes[i] >= 0) {
                    j.writeNumberField("closureSize", closureSizes[i]);
                }
                if (pi.deriver() != null) {
                    j.writeStringField("deriver", pi.deriver().path());
                }
                j.writeEndObject();
            }
            j.writeEndArray();
        }
        out.write('\n');
        out.flush();
    }
}
