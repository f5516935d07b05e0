package dev.microforge.vm;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Stable identities derived from the spec, never random (documented in docs/vm-spec.md):
 * <ul>
 * <li>Disk serial of a volume without {@code serial}: the image's file name without its last extension,
 * bytes outside {@code [A-Za-z0-9._-]} replaced by {@code _}; when that is longer than 20 bytes (virtio-blk's
 * limit), its first 11 bytes, {@code -}, and the first 8 hex digits of SHA-256(image path).</li>
 * <li>MAC of an interface without {@code mac}: the first 6 bytes of
 * SHA-256("microforge-mac\0" + vm name + "\0" + interface id), with the first byte's low two bits set to
 * {@code 10} (locally administered, unicast).</li>
 * </ul>
 */
public final class Identity {
    /** virtio-blk serials are at most 20 bytes (VIRTIO_BLK_ID_BYTES). */
    public static final int SERIAL_MAX = 20;
    /** The serial of the store disk unless the spec sets one. */
    public static final String STORE_SERIAL = "nix-store";

    private Identity() {}

    public static String serialFor(String image) {
        String base = image;
        while (base.endsWith("/") && base.length() > 1) {
            base = base.substring(0, base.length() - 1);
        }
        int slash = base.lastIndexOf('/');
        if (slash >= 0) {
            base = base.substring(slash + 1);
        }
        int dot = base.lastIndexOf('.');
        if (dot > 0) {
            base = base.substring(0, dot);
        }
        StringBuilder sb = new StringBuilder();
        for (byte b : base.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-';
            sb.append(ok ? c : '_');
        }
        String s = sb.isEmpty() ? "volume" : sb.toString();
        if (s.length() <= SERIAL_MAX) {
            return s;
        }
        return s.substring(0, 11) + "-" + HexFormat.of().formatHex(sha256(image.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
    }

    /** "02:xx:xx:xx:xx:xx": stable, locally administered, unicast. */
    public static String macFor(String vmName, String interfaceId) {
        byte[] h = sha256(("microforge-mac\0" + vmName + "\0" + interfaceId).getBytes(StandardCharsets.UTF_8));
        h[0] = (byte) ((h[0] & 0xfc) | 0x02);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(String.format("%02x", h[i] & 0xff));
        }
        return sb.toString();
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
