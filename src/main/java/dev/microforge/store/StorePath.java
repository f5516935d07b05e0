package dev.microforge.store;

import dev.microforge.util.UserError;

/**
 * A store path {@code <storeDir>/<32 nix32 chars>-<name>}, validated with Nix's rules.
 * Ordering is by the full path in unsigned bytes (store paths are ASCII, so this equals String order).
 */
public record StorePath(String storeDir, String hashPart, String name) implements Comparable<StorePath> {
    public static final String DEFAULT_STORE_DIR = "/nix/store";
    public static final int HASH_LENGTH = 32;
    public static final int MAX_NAME_LENGTH = 211;

    public StorePath {
        checkStoreDir(storeDir);
        if (hashPart.length() != HASH_LENGTH) {
            throw new IllegalArgumentException("hash part must be " + HASH_LENGTH + " characters: '" + hashPart + "'");
        }
        for (int i = 0; i < HASH_LENGTH; i++) {
            if (!Nix32.isNix32Char(hashPart.charAt(i))) {
                throw new IllegalArgumentException("invalid character '" + hashPart.charAt(i) + "' in hash part '" + hashPart + "'");
            }
        }
        String problem = nameProblem(name);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** Why {@code name} is not a valid store path name, or null when it is. */
    public static String nameProblem(String name) {
        if (name.isEmpty()) {
            return "empty store path name";
        }
        if (name.length() > MAX_NAME_LENGTH) {
            return "store path name is too long (" + name.length() + " > " + MAX_NAME_LENGTH + " characters)";
        }
        if (name.charAt(0) == '.') {
            return "store path name '" + name + "' starts with '.'";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '+' || c == '-' || c == '.' || c == '_' || c == '?' || c == '=';
            if (!ok) {
                return "invalid character " + describe(c) + " in store path name '" + name + "'";
            }
        }
        return null;
    }

    private static String describe(char c) {
        if (c == '/') {
            return "'/'";
        }
        if (c < 0x20 || c > 0x7e) {
            return String.format("U+%04X", (int) c);
        }
        return "'" + c + "'";
    }

    static void checkStoreDir(String storeDir) {
        if (storeDir.isEmpty() || storeDir.charAt(0) != '/') {
            throw new IllegalArgumentException("store directory must be an absolute path: '" + storeDir + "'");
        }
        if (storeDir.length() > 1 && storeDir.endsWith("/")) {
            throw new IllegalArgumentException("store directory must not end with '/': '" + storeDir + "'");
        }
        for (String seg : storeDir.substring(1).split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw new IllegalArgumentException("store directory is not canonical: '" + storeDir + "'");
            }
        }
    }

    /** Parses a full path; throws IllegalArgumentException with a precise reason. */
    public static StorePath parse(String storeDir, String path) {
        String prefix = storeDir + "/";
        if (!path.startsWith(prefix)) {
            throw new IllegalArgumentException("path '" + path + "' is not in the store directory " + storeDir);
        }
        return parseBaseName(storeDir, path.substring(prefix.length()), path);
    }

    /** Parses {@code <hash>-<name>} (a basename in the store directory). */
    public static StorePath parseBaseName(String storeDir, String baseName) {
        return parseBaseName(storeDir, baseName, baseName);
    }

    private static StorePath parseBaseName(String storeDir, String baseName, String shown) {
        if (baseName.contains("/")) {
            throw new IllegalArgumentException("path '" + shown + "' is not directly inside the store directory " + storeDir);
        }
        if (baseName.length() < HASH_LENGTH + 2 || baseName.charAt(HASH_LENGTH) != '-') {
            throw new IllegalArgumentException("'" + shown + "' is not a store path: expected <32-character hash>-<name>");
        }
        return new StorePath(storeDir, baseName.substring(0, HASH_LENGTH), baseName.substring(HASH_LENGTH + 1));
    }

    /** Like {@link #parse(String, String)} but throws a {@link UserError} located at {@code where}. */
    public static StorePath parseAt(String storeDir, String path, String where) {
        try {
            return parse(storeDir, path);
        } catch (IllegalArgumentException e) {
            throw new UserError(where + ": " + e.getMessage());
        }
    }

    public String baseName() {
        return hashPart + "-" + name;
    }

    public String path() {
        return storeDir + "/" + baseName();
    }

    @Override
    public String toString() {
        return path();
    }

    /** Same order as comparing {@link #path()} strings, without building them (hash parts have a fixed length). */
    @Override
    public int compareTo(StorePath o) {
        if (!storeDir.equals(o.storeDir)) {
            return path().compareTo(o.path());
        }
        int c = hashPart.compareTo(o.hashPart);
        return c != 0 ? c : name.compareTo(o.name);
    }
}
