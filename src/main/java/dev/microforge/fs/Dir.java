package dev.microforge.fs;

import dev.microforge.util.RawNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A directory; entries strictly sorted by unsigned bytes of their names (checked). */
public record Dir(List<Entry> entries) implements Node {
    public Dir {
        entries = List.copyOf(entries);
        for (int i = 1; i < entries.size(); i++) {
            if (RawNames.compare(entries.get(i - 1).nameRef(), entries.get(i).nameRef()) >= 0) {
                throw new IllegalArgumentException("directory entries not strictly sorted at " + entries.get(i).displayName());
            }
        }
    }

    /** Sorts (by unsigned bytes) and builds; duplicate names are an error. */
    public static Dir sorted(List<Entry> entries) {
        List<Entry> copy = new ArrayList<>(entries);
        copy.sort((a, b) -> RawNames.compare(a.nameRef(), b.nameRef()));
        return new Dir(copy);
    }

    @Override
    public int mode() {
        return Reproducible.DIR_MODE;
    }

    public Entry find(byte[] name) {
        int lo = 0;
        int hi = entries.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(entries.get(mid).nameRef(), name);
            if (c == 0) {
                return entries.get(mid);
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return null;
    }
}
