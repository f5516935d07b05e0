package dev.microforge.runner;

import dev.microforge.util.UserError;
import java.util.ArrayList;
import java.util.List;

/**
 * A "key=value,key=value" option string as qemu, cloud-hypervisor, crosvm and kvmtool take them. Values are escaped
 * for qemu (a comma is written twice); for the others, values that their syntax cannot carry are refused.
 */
final class QemuOpt {
    private final List<Object> parts = new ArrayList<>();
    private final boolean qemuEscaping;
    private final String hypervisor;

    private QemuOpt(String first, boolean qemuEscaping, String hypervisor) {
        this.qemuEscaping = qemuEscaping;
        this.hypervisor = hypervisor;
        if (first != null) {
            parts.add(first);
        }
    }

    /** qemu syntax: commas in values doubled. {@code first} is a fixed leading word like "virtio-blk-pci". */
    static QemuOpt qemu(String first) {
        return new QemuOpt(first, true, "qemu");
    }

    /** Syntax without escaping: values containing {@code forbidden} characters are refused, naming {@code field}. */
    static QemuOpt plain(String hypervisor) {
        return new QemuOpt(null, false, hypervisor);
    }

    /** A fixed flag or key=value written by the generator. */
    QemuOpt fixed(String text) {
        parts.add(text);
        return this;
    }

    /** key=value from the spec; {@code field} names the spec field for errors. */
    QemuOpt kv(String key, String value, String field) {
        parts.add(key + "=" + escape(value, field));
        return this;
    }

    /** key=${var} (a variable set by microvm-run). */
    QemuOpt kvVar(String key, Shell.Var var) {
        parts.add(new Object[] {key + "=", var});
        return this;
    }

    /** key=[${var}] (cloud-hypervisor's list syntax for file descriptors). */
    QemuOpt bracketVar(String key, Shell.Var var) {
        parts.add(new Object[] {key + "=[", var, "]"});
        return this;
    }

    String escape(String value, String field) {
        if (qemuEscaping) {
            return value.replace(",", ",,");
        }
        for (char c : new char[] {',', '"', '[', ']'}) {
            if (value.indexOf(c) >= 0) {
                throw new UserError(field + ": '" + value.replace("\n", "\\n") + "' contains '" + c
                        + "', which " + hypervisor + "'s option syntax cannot carry; rename it");
            }
        }
        return value;
    }

    Shell.Word word() {
        List<Object> w = new ArrayList<>();
        for (Object seg : parts) {
            if (!w.isEmpty()) {
                w.add(",");
            }
            if (seg instanceof Object[] pair) {
                w.addAll(List.of(pair));
            } else {
                w.add(seg);
            }
        }
        return Shell.word(w.toArray());
    }
}
