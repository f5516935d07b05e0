package dev.microforge.runner;

import java.util.Locale;

/** How the VM is accelerated: KVM, software emulation (qemu TCG only), or KVM falling back to TCG (qemu). */
public enum Accel {
    KVM, TCG, AUTO;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
