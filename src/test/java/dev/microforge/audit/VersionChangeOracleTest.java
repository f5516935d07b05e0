package dev.microforge.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.microforge.testkit.NixFixtures;
import dev.microforge.testkit.Tools;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link VersionChange#compare} against Nix's own {@code builtins.compareVersions}, on awkward pairs, in one evaluation. */
@Tag("oracle")
class VersionChangeOracleTest {
    static final String[][] PAIRS = {
        {"120.0", "121.0"}, {"3.0.13", "3.0.12"}, {"1.0pre1", "1.0"}, {"1.0", "1.0pre1"}, {"2.3a", "2.3.1"}, {"2.3", "2.3a"},
        {"1.0", "1.0"}, {"1.0", "1.0.0"}, {"", "1"}, {"1", ""}, {"pre", "pre"}, {"a", "b"}, {"1.2.3", "1.2.10"},
        {"2024-01-02", "2024-1-3"}, {"unstable-2023-05-01", "unstable-2023-04-30"}, {"0.9.9", "0.10"}, {"1.0rc1", "1.0pre2"},
        {"5.15.0-rt17", "5.15.0"}, {"99999999999999999999", "100000000000000000000"}, {"1..2", "1.2"}, {"1-2", "1.2"},
        {"1.0b", "1.0a"}, {"1.0", "1.0a"}, {"r1", "1"}, {"ε", ""}, {"3000000000", "400000000"}, {"2147483648", "300000000"},
        {"2147483647", "300000000"}, {"10000000000000000000", "9000000000000000000"}, {"007", "7"}, {"1.02", "1.1"},
    };

    @Test
    void compareVersionsAsNixDoes() throws Exception {
        StringBuilder expr = new StringBuilder("[");
        for (String[] p : PAIRS) {
            expr.append(" (builtins.compareVersions ").append(NixFixtures.nixString(p[0])).append(' ')
                    .append(NixFixtures.nixString(p[1])).append(')');
        }
        expr.append(" ]");
        List<String> cmd = List.of(Tools.require("nix-instantiate").toString(), "--eval", "--strict", "--expr", expr.toString());
        String out = new String(AuditOracleTest.run(cmd)).trim();
        String[] nix = out.substring(1, out.length() - 1).trim().split("\\s+");
        assertEquals(PAIRS.length, nix.length, out);
        List<String> expected = new ArrayList<>();
        List<String> actual = new ArrayList<>();
        for (int i = 0; i < PAIRS.length; i++) {
            expected.add(PAIRS[i][0] + " vs " + PAIRS[i][1] + ": " + Integer.parseInt(nix[i]));
            actual.add(PAIRS[i][0] + " vs " + PAIRS[i][1] + ": " + Integer.signum(VersionChange.compare(PAIRS[i][0], PAIRS[i][1])));
        }
        assertEquals(expected, actual);
    }
}
