package dev.microforge.audit;

import dev.microforge.util.Sizes;
import dev.microforge.util.UserError;
import java.math.BigDecimal;
import java.math.RoundingMode;

/** The {@code --max-growth} limit: an absolute size ({@code 50M}) or a percentage of the baseline ({@code 5%}). */
public record Growth(String text, long bytes, BigDecimal percent) {
    public Growth {
        if ((bytes < 0) == (percent == null)) {
            throw new IllegalArgumentException("exactly one of bytes and percent");
        }
    }

    public static Growth parse(String text) {
        String t = text.trim();
        if (t.endsWith("%")) {
            try {
                BigDecimal p = new BigDecimal(t.substring(0, t.length() - 1).trim());
                if (p.signum() < 0) {
                    throw new UserError("--max-growth '" + text + "': the percentage must not be negative");
                }
                return new Growth(t, -1, p);
            } catch (NumberFormatException e) {
                throw new UserError("--max-growth '" + text + "': expected a size (50M) or a percentage (5%)");
            }
        }
        try {
            return new Growth(t, Sizes.parse(t), null);
        } catch (UserError e) {
            throw new UserError("--max-growth '" + text + "': expected a size (50M) or a percentage (5%)");
        }
    }

    /**
     * The allowed growth in bytes over a baseline of {@code baseline} bytes (rounded down; at most
     * {@link Long#MAX_VALUE}, which no growth of a closure whose sizes fit in a long can exceed).
     */
    public long allowed(long baseline) {
        if (percent == null) {
            return bytes;
        }
        BigDecimal a = percent.multiply(BigDecimal.valueOf(baseline)).divide(BigDecimal.valueOf(100), 0,
                RoundingMode.FLOOR);
        return a.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0 ? Long.MAX_VALUE : a.longValueExact();
    }
}
