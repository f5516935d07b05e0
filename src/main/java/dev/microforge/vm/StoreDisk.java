package dev.microforge.vm;

import java.util.List;

/**
 * The read-only disk holding the guest's /nix/store: {@code image} (path of an erofs or squashfs image built by
 * {@code microforge image build}), its {@code type}, its disk {@code serial} (default {@value Identity#STORE_SERIAL})
 * and, optionally, the {@code compression} it was built with (null: not said; the emitted guest module then
 * asserts nothing about the guest kernel). Always attached read-only.
 */
public record StoreDisk(String image, Type type, String serial, String compression) {
    public enum Type {
        EROFS("erofs", List.of("lz4hc", "lz4", "none", "zstd", "lzma", "deflate")),
        SQUASHFS("squashfs", List.of("zstd", "xz", "gzip", "lz4", "none"));

        private final String id;
        private final List<String> compressions;

        Type(String id, List<String> compressions) {
            this.id = id;
            this.compressions = compressions;
        }

        /** The {@code --compression} values of {@code image build --type} this type. */
        public List<String> compressions() {
            return compressions;
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
        if (compression != null) {
            Check.oneOf("compression", compression, type.compressions());
        }
    }

    public StoreDisk(String image, Type type, String serial) {
        this(image, type, serial, null);
    }
}
