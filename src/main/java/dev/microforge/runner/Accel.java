package dev.microforge.runner;

/** How the VM is accelerated: KVM, software emulation (qemu TCG only), or KVM falling back to TCG (qemu). */
public enum Accel {
    KVM, TCG, AUTO;

    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
