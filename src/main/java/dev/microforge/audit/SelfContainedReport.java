package dev.microforge.audit;

import java.util.List;
import java.util.Locale;

/**
 * What {@code audit self-contained} found. Findings name the store path, the file inside it (relative, empty when
 * the hash only shows up across NAR framing), where in the file (contents, name, symlink target) and the
 * referenced store path. {@code warnings}: what the audit could not check and was told to accept (printed loudly).
 */
public record SelfContainedReport(int paths, long narBytes, int closureCandidates, int storeCandidates,
        String candidateStore, List<Finding> findings, List<Stale> stale, List<String> forbidPatterns,
        List<SizeReport.Forbidden> forbidden, String image, List<String> imageReferences, List<SizeReport.Rule> rules,
        List<String> warnings) {
    public static final int SCHEMA_VERSION = 1;

    public SelfContainedReport {
        findings = List.copyOf(findings);
        stale = List.copyOf(stale);
        forbidPatterns = List.copyOf(forbidPatterns);
        forbidden = List.copyOf(forbidden);
        imageReferences = List.copyOf(imageReferences);
        rules = List.copyOf(rules);
        warnings = List.copyOf(warnings);
    }

    /** The kinds of finding, each its own rule. */
    public enum Kind {
        /** A declared reference whose path is not in the closure. */
        MISSING("closed"),
        /** The bytes refer to a closure member the path does not declare. */
        UNDECLARED("honest"),
        /** The bytes contain the hash of a store path outside the closure. */
        OUTSIDE("no-outside-references");

        private final String rule;

        Kind(String rule) {
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One finding. {@code file} and {@code where} are empty for {@link Kind#MISSING}. */
    public record Finding(Kind kind, String path, String file, String where, String reference) {}

    /** A declared reference whose hash the bytes do not contain (harmless: the closure is only bigger). */
    public record Stale(String path, String reference) {}

    public boolean ok() {
        return rules.stream().allMatch(SizeReport.Rule::ok);
    }

    public List<SizeReport.Rule> failed() {
        return rules.stream().filter(r -> !r.ok()).toList();
    }
}
