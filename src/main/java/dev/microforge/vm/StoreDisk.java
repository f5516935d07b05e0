package dev.microforge.vm;

/**
 * The read-only disk holding the guest's /nix/store: {@code image} (path of an erofs or squashfs image built by
 * {@code microforge image build}), its {@code type}, and its disk {@code serial} (default {@value Identity#STORE_SERIAL}).
 * Always attached read-only.
 */
public record StoreDisk(String image, Type type, String serial) {
    public enum Type {
        EROFS("erofs"), SQUASHFS("squashfs");

        private final String id;

        Type(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        @Override
        public String toString() {
            return id;
        }

        static Type of(String v, String field) {
            return DidYouMean.oneOf(values(), Type::id, v, field);
        }
    }

    public StoreDisk {
        Check.path("image", image);
        if (type == null) {
            throw new SpecError("type", "is required (erofs or squashfs)");
        }
        serial = serial == null ? Identity.STORE_SERIAL : Check.token("serial", serial, Identity.SERIAL_MAX, "serial");
    }
}
