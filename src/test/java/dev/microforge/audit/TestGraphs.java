package dev.microforge.audit;

import dev.microforge.closure.ClosureGraph;
import dev.microforge.closure.PathInfo;
import dev.microforge.store.Nix32;
import dev.microforge.store.StorePath;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small hand-made closures for unit and golden tests: store paths with stable, valid hashes derived from the name. */
final class TestGraphs {
    private TestGraphs() {}

    static StorePath sp(String name) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return new StorePath("/nix/store", Nix32.encode(Arrays.copyOf(h, 20)), name);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Builder: {@code path(name, narSize, refs...)}. */
    static final class B {
        private final Map<String, PathInfo> infos = new LinkedHashMap<>();

        B path(String name, long narSize, String... refs) {
            List<StorePath> r = new ArrayList<>();
            for (String ref : refs) {
                r.add(sp(ref));
            }
            infos.put(name, new PathInfo(sp(name), r, null, narSize, null));
            return this;
        }

        ClosureGraph build() {
            return ClosureGraph.of("/nix/store", "test", infos.values());
        }

        /** The closure as a registration file (path, narHash, narSize, deriver, count, references). */
        String registration() {
            StringBuilder sb = new StringBuilder();
            for (PathInfo pi : infos.values()) {
                sb.append(pi.path()).append('\n');
                sb.append("sha256:").append(Nix32.encode(new byte[32])).append('\n');
                sb.append(pi.narSize()).append('\n');
                sb.append('\n');
                sb.append(pi.references().size()).append('\n');
                for (StorePath r : pi.references()) {
                    sb.append(r).append('\n');
                }
            }
            return sb.toString();
        }
    }

    /** The golden example: a system with an app, a shared glibc (self-reference), a compiler leak, a tool. */
    static B current() {
        return new B()
                .path("nixos-system-demo-24.05", 4_096, "app-1.1", "tools-2.0", "etc")
                .path("etc", 20_480, "tools-2.0")
                .path("app-1.1", 150_000, "openssl-3.0.13", "glibc-2.38-27", "gcc-13.2.0-lib")
                .path("tools-2.0", 60_000, "glibc-2.38-27", "zlib-1.3.1")
                .path("openssl-3.0.13", 6_000_000, "glibc-2.38-27")
                .path("gcc-13.2.0-lib", 8_500_000, "glibc-2.38-27", "gcc-13.2.0-lib")
                .path("zlib-1.3.1", 130_000, "glibc-2.38-27")
                .path("glibc-2.38-27", 30_000_000, "glibc-2.38-27", "libidn2-2.3.7")
                .path("libidn2-2.3.7", 400_000, "glibc-2.38-27");
    }

    static B baseline() {
        return new B()
                .path("nixos-system-demo-24.05", 4_096, "app-1.0", "tools-2.0", "etc")
                .path("etc", 20_480, "tools-2.0")
                .path("app-1.0", 140_000, "openssl-3.0.12", "glibc-2.38-27")
                .path("tools-2.0", 60_000, "glibc-2.38-27", "zlib-1.3.1")
                .path("openssl-3.0.12", 5_990_000, "glibc-2.38-27")
                .path("zlib-1.3.1", 130_000, "glibc-2.38-27")
                .path("glibc-2.38-27", 30_000_000, "glibc-2.38-27", "libidn2-2.3.7")
                .path("libidn2-2.3.7", 400_000, "glibc-2.38-27");
    }
}
