package dev.microforge.vm;

import java.util.List;
import java.util.Locale;

/**
 * A network interface (microvm.nix {@code microvm.interfaces.*}).
 *
 * @param type    user (SLiRP), tap, macvtap or bridge
 * @param id      the host interface name (tap/macvtap/bridge: at most 15 bytes) or the netdev id for user
 * @param mac     the guest MAC; default derived from VM name and id ({@link Identity#macFor})
 * @param bridge  the host bridge, for type bridge only
 * @param macvtap link and mode, for type macvtap only
 * @param vhost   tap: packet processing in the host kernel's vhost-net (microvm.nix tap.vhost)
 */
public record NetInterface(Type type, String id, String mac, String bridge, Macvtap macvtap, boolean vhost) {
    /** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
    public static final int IFNAME_MAX = 15;

    public enum Type {
        USER("user"), TAP("tap"), MACVTAP("macvtap"), BRIDGE("bridge");

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

    /** macvtap link (the host NIC) and MACVLAN mode. */
    public record Macvtap(String link, String mode) {
        public static final List<String> MODES = List.of("private", "vepa", "bridge", "passthru", "source");

        public Macvtap {
            ifname("link", link);
            Check.required("mode", mode);
            Check.oneOf("mode", mode, MODES);
        }
    }

    public NetInterface {
        if (type == null) {
            throw new SpecError("type", "is required (user, tap, macvtap or bridge)");
        }
        ifname("id", id);
        if (mac != null) {
            if (!Check.MAC.matcher(mac).matches()) {
                throw new SpecError("mac", "'" + mac + "' is not a MAC address like 02:00:00:00:00:01");
            }
            if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                throw new SpecError("mac", "'" + mac + "' is a multicast address (lowest bit of the first byte set)");
            }
            mac = mac.toLowerCase(Locale.ROOT);
        }
        if (type == Type.BRIDGE) {
            if (bridge == null) {
                throw new SpecError("bridge", "is required for an interface of type bridge");
            }
            ifname("bridge", bridge);
        } else if (bridge != null) {
            throw new SpecError("bridge", "is only used by interfaces of type bridge (this one is " + type + ")");
        }
        if (type == Type.MACVTAP) {
            if (macvtap == null) {
                throw new SpecError("macvtap", "is required for an interface of type macvtap (link and mode)");
            }
        } else if (macvtap != null) {
            throw new SpecError("macvtap", "is only used by interfaces of type macvtap (this one is " + type + ")");
        }
        if (vhost && type != Type.TAP) {
            throw new SpecError("tap.vhost", "is only used by interfaces of type tap (this one is " + type + ")");
        }
    }

    static String ifname(String field, String v) {
        Check.token(field, v, IFNAME_MAX, "interface name");
        if (v.indexOf('/') >= 0 || v.indexOf(':') >= 0 || v.indexOf(',') >= 0 || v.equals(".") || v.equals("..")) {
            throw new SpecError(field, "'" + v + "' is not a valid interface name (no '/', ':' or ',')");
        }
        return v;
    }

    NetInterface withMac(String m) {
        return new NetInterface(type, id, m, bridge, macvtap, vhost);
    }
}
