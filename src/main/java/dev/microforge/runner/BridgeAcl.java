package dev.microforge.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * qemu-bridge-helper's ACL, read the way the helper reads it: {@code /etc/qemu/bridge.conf}, lines
 * {@code allow NAME|all}, {@code deny NAME|all}, {@code include FILE} (a missing included file is ignored), comments
 * with {@code #}. A missing or unparsable default file makes the helper fail with
 * "failed to parse default acl file"; a bridge is allowed when some allow rule matches and NO deny rule matches,
 * whatever the order. Names are compared after truncation to 15 bytes, as the helper stores them.
 */
final class BridgeAcl {
    private final Host host;
    private final List<String[]> rules = new ArrayList<>();
    private String parseError;

    BridgeAcl(Host host) {
        this.host = host;
        String err = parse(Preflight.BRIDGE_CONF, 0);
        if (err != null) {
            parseError = err;
        }
    }

    /** null when the helper would accept the bridge, else why not. */
    String check(String bridge) {
        if (parseError != null) {
            return "the bridge helper will fail with \"failed to parse default acl file `" + Preflight.BRIDGE_CONF + "'\": " + parseError;
        }
        boolean allowed = false;
        String deniedBy = null;
        for (String[] r : rules) {
            boolean match = r[1].equals("all") || r[1].equals(truncate(bridge));
            if (match && r[0].equals("allow")) {
                allowed = true;
            } else if (match && r[0].equals("deny")) {
                deniedBy = "'deny " + r[1] + "' in " + r[2];
            }
        }
        if (deniedBy != null) {
            return "bridge " + bridge + " is denied by " + deniedBy + " (a deny rule wins over any allow rule)";
        }
        if (!allowed) {
            return Preflight.BRIDGE_CONF + " does not allow bridge " + bridge + " (the helper denies by default)";
        }
        return null;
    }

    String fix(String bridge) {
        if (parseError != null && parseError.startsWith("does not exist")) {
            return "mkdir -p /etc/qemu && echo 'allow " + bridge + "' >> " + Preflight.BRIDGE_CONF;
        }
        if (parseError != null) {
            return "correct " + Preflight.BRIDGE_CONF + " (lines: allow NAME, deny NAME, include FILE, # comment)";
        }
        return "add 'allow " + bridge + "' to " + Preflight.BRIDGE_CONF + " and remove deny rules matching it";
    }

    /** The NixOS configuration that writes an ACL allowing {@code bridge}. */
    String fixNixos(String bridge) {
        return "environment.etc.\"qemu/bridge.conf\".text = \"allow " + bridge + "\\n\"; (or virtualisation.libvirtd.allowedBridges = [ \""
                + bridge + "\" ];)";
    }

    private static String truncate(String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        return b.length <= 15 ? name : new String(b, 0, 15, StandardCharsets.UTF_8);
    }

    /** Returns an error for the file, or null. Errors of included files are ignored, as the helper does. */
    private String parse(String file, int depth) {
        if (depth > 16) {
            return null;
        }
        Path p = host.resolve(file);
        List<String> lines;
        try {
            if (!Files.exists(p)) {
                return "does not exist";
            }
            lines = Files.readAllLines(p, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "cannot be read (" + e.getMessage() + ")";
        }
        int n = 0;
        for (String raw : lines) {
            n++;
            String line = raw.stripLeading();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int sp = line.indexOf(' ');
            if (sp < 0) {
                sp = line.indexOf('\t');
            }
            if (sp < 0) {
                return file + ":" + n + ": invalid line '" + raw + "' (expected 'allow NAME', 'deny NAME' or 'include FILE')";
            }
            String cmd = line.substring(0, sp);
            String arg = line.substring(sp + 1).strip();
            switch (cmd) {
                case "allow", "deny" -> rules.add(new String[] {cmd, arg.equals("all") ? "all" : truncate(arg), file + ":" + n});
                case "include" -> parse(arg, depth + 1);
                default -> {
                    return file + ":" + n + ": unknown command '" + cmd + "'";
                }
            }
        }
        return null;
    }
}
