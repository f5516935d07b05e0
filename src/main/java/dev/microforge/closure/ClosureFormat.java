package dev.microforge.closure;

import java.util.Locale;

/** The closure file formats microforge reads (names as on the command line). */
public enum ClosureFormat {
    AUTO("auto"),
    /** The file {@code exportReferencesGraph} writes: path, deriver line, count, references; repeated. */
    EXPORT_REFERENCES_GRAPH("export-references-graph"),
    /** A nixpkgs {@code closureInfo} output directory ({@code registration}, {@code store-paths}). */
    CLOSURE_INFO("closure-info"),
    /** A registration file alone: path, narHash, narSize, deriver, count, references; repeated. */
    REGISTRATION("registration"),
    /** {@code nix path-info --json} output, any shape Nix has printed. */
    PATH_INFO_JSON("path-info-json"),
    /** {@code nix-store --dump-db} output (the registration format with base16 hashes). */
    DUMP_DB("dump-db");

    private final String cliName;

    ClosureFormat(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    @Override
    public String toString() {
        return cliName;
    }

    public static ClosureFormat parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (ClosureFormat f : values()) {
            if (f.cliName.equals(t)) {
                return f;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (ClosureFormat f : values()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(f.cliName);
        }
        throw new IllegalArgumentException("unknown closure format '" + text + "' (expected one of " + sb + ")");
    }
}
