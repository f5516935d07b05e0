package dev.microforge.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a synthetic closure in the registration format (path, narHash, narSize, deriver, count, references) for
 * the audit benchmark: {@code java ... SyntheticClosure PATHS SEED baseline|current OUT}.
 *
 * <p>Shape, from leaves up (a path refers only to earlier paths, as in a build order): ten core paths (a libc, a
 * compiler runtime, ...) that nearly everything refers to; 1% shared libraries with preferential attachment (a few
 * of them referred to by a large part of the graph); ordinary packages with 1-2 core, 1-4 shared and 0-3 nearby
 * references, multiple outputs ({@code -lib}, {@code -bin}, {@code -dev}, {@code -man}); about 10% self-references and
 * a hundred mutual pairs (cycles); sizes log-uniform from 1 KiB to 8 MiB plus five giant paths of 1-4 GiB; one
 * toplevel that refers to every path nothing else refers to. {@code current} differs from {@code baseline} like a
 * routine update: 2% of the packages have a new version (new hash, size +5%), 0.5% are new, 0.5% are gone.
 */
public final class SyntheticClosure {
    private static final String NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";
    private static final String[] OUTPUTS = {"", "", "", "-lib", "-bin", "-dev", "-man"};

    private SyntheticClosure() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4 || !(args[2].equals("baseline") || args[2].equals("current"))) {
            System.err.println("usage: SyntheticClosure PATHS SEED baseline|current OUT");
            System.exit(2);
        }
        int n = Integer.parseInt(args[0]);
        long seed = Long.parseLong(args[1]);
        boolean current = args[2].equals("current");
        write(n, seed, current, Path.of(args[3]));
    }

    static String hash(SplittableRandom r) {
        char[] c = new char[32];
        for (int i = 0; i < 32; i++) {
            c[i] = NIX32.charAt(r.nextInt(32));
        }
        return new String(c);
    }

    static void write(int n, long seed, boolean current, Path out) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        int core = 10;
        int shared = Math.max(1, n / 100);
        String[] paths = new String[n];
        long[] sizes = new long[n];
        int[][] refs = new int[n][];
        boolean[] present = new boolean[n];
        boolean[] referenced = new boolean[n];
        SplittableRandom change = new SplittableRandom(seed ^ 0x5eedL);
        int giants = 0;
        for (int i = 0; i < n - 1; i++) {
            double u = change.nextDouble();
            boolean gone = u < 0.005;
            boolean added = u >= 0.005 && u < 0.010;
            boolean bumped = u >= 0.010 && u < 0.030;
            present[i] = i < core + shared || (current ? !gone : !added);
            int minor = (current && bumped) ? 1 : 0;
            String output = OUTPUTS[rnd.nextInt(OUTPUTS.length)];
            String name;
            if (i < core) {
                name = new String[] {"glibc-2.38-27", "gcc-13.2.0-lib", "zlib-1.3.1", "openssl-3.0.13", "bash-5.2p26",
                    "coreutils-9.4", "ncurses-6.4", "libffi-3.4.6", "xz-5.4.6", "systemd-255.4"}[i];
            } else if (i < core + shared) {
                name = "lib" + i + "-" + (1 + i % 7) + "." + minor + "." + (i % 13) + output;
            } else {
                name = "p" + i + "-" + (1 + i % 5) + "." + minor + output;
            }
            String h = hash(rnd);
            if (minor == 1) {
                h = hash(new SplittableRandom(seed * 31 + i));
            }
            paths[i] = "/nix/store/" + h + "-" + name;
            // sizes: log-uniform 1 KiB .. 8 MiB, core paths 1..30 MiB, five giants
            long size = (long) Math.exp(Math.log(1024) + rnd.nextDouble() * (Math.log(8 << 20) - Math.log(1024)));
            if (i < core) {
                size = (1L << 20) * (1 + rnd.nextInt(30));
            } else if (giants < 5 && i > n / 2 && rnd.nextInt(Math.max(1, n / 10)) == 0) {
                size = (1L << 30) * (1 + rnd.nextInt(4));
                giants++;
            }
            if (minor == 1) {
                size += size / 20;
            }
            sizes[i] = size - size % 8;
            // references to earlier paths
            List<Integer> r = new ArrayList<>();
            if (i > 0) {
                if (i < core) {
                    for (int k = 0; k < Math.min(i, 2); k++) {
                        r.add(rnd.nextInt(i));
                    }
                } else {
                    int nc = 1 + rnd.nextInt(2);
                    for (int k = 0; k < nc; k++) {
                        r.add(rnd.nextInt(Math.min(core, i)));
                    }
                    int lastShared = Math.min(i, core + shared);
                    if (lastShared > core) {
                        int ns = i < core + shared ? rnd.nextInt(3) : 1 + rnd.nextInt(4);
                        for (int k = 0; k < ns; k++) {
                            // preferential attachment: low-numbered shared libraries are popular
                            double x = rnd.nextDouble();
                            r.add(core + (int) ((lastShared - core) * x * x * x));
                        }
                    }
                    if (i >= core + shared) {
                        int nn = rnd.nextInt(4);
                        for (int k = 0; k < nn; k++) {
                            r.add(Math.max(core + shared, i - 1 - rnd.nextInt(Math.min(200, i - core - shared + 1))));
                        }
                    }
                }
            }
            if (rnd.nextInt(10) == 0) {
                r.add(i); // self-reference
            }
            final int self = i;
            refs[i] = r.stream().mapToInt(Integer::intValue).filter(j -> j <= self).distinct().sorted().toArray();
        }
        // a hundred mutual pairs: an earlier package also refers back to a later one
        for (int k = 0; k < 100 && n > core + shared + 10; k++) {
            int i = core + shared + 5 + rnd.nextInt(n - core - shared - 10);
            if (refs[i].length > 0) {
                int j = refs[i][0];
                if (j >= core + shared && j != i) {
                    int[] a = Arrays.copyOf(refs[j], refs[j].length + 1);
                    a[a.length - 1] = i;
                    refs[j] = Arrays.stream(a).distinct().sorted().toArray();
                }
            }
        }
        // references to absent paths are dropped (the package was built without them)
        for (int i = 0; i < n - 1; i++) {
            if (!present[i]) {
                continue;
            }
            refs[i] = Arrays.stream(refs[i]).filter(j -> present[j]).toArray();
            for (int j : refs[i]) {
                if (j != i) {
                    referenced[j] = true;
                }
            }
        }
        int top = n - 1;
        paths[top] = "/nix/store/" + hash(new SplittableRandom(seed * 7 + (current ? 1 : 0))) + "-nixos-system-bench-24.05";
        sizes[top] = 4096;
        present[top] = true;
        refs[top] = java.util.stream.IntStream.range(0, n - 1).filter(i -> present[i] && !referenced[i]).toArray();

        byte[] zeroHash = ("sha256:" + "0".repeat(52) + "\n").getBytes(StandardCharsets.US_ASCII);
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            for (int i = 0; i < n; i++) {
                if (!present[i]) {
                    continue;
                }
                line(os, paths[i]);
                os.write(zeroHash);
                line(os, Long.toString(sizes[i]));
                line(os, "");
                line(os, Integer.toString(refs[i].length));
                String[] sorted = new String[refs[i].length];
                for (int k = 0; k < sorted.length; k++) {
                    sorted[k] = paths[refs[i][k]];
                }
                Arrays.sort(sorted); // Nix writes references sorted
                for (String r : sorted) {
                    line(os, r);
                }
            }
        }
    }

    private static void line(OutputStream os, String s) throws IOException {
        for (int i = 0; i < s.length(); i++) {
            os.write(s.charAt(i));
        }
        os.write('\n');
    }
}
