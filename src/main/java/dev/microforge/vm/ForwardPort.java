package dev.microforge.vm;

import java.util.List;

/**
 * A port forwarded through user networking (microvm.nix {@code microvm.forwardPorts.*}).
 *
 * @param from  host (host port to guest port) or guest (guest connection to a host port)
 * @param proto tcp or udp
 */
public record ForwardPort(String from, String proto, Endpoint host, Endpoint guest) {
    /** An IPv4 address ("" = any/default) and a port. */
    public record Endpoint(String address, int port) {
        public Endpoint {
            if (address == null) {
                address = "";
            }
            if (!address.isEmpty() && !address.matches("(\\d{1,3})(\\.\\d{1,3}){3}")) {
                throw new SpecError("address", "'" + address + "' is not an IPv4 address");
            }
            Check.range("port", port, 1, 65535, "");
        }
    }

    public ForwardPort {
        if (from == null) {
            from = "host";
        }
        Check.oneOf("from", from, List.of("host", "guest"));
        if (proto == null) {
            proto = "tcp";
        }
        Check.oneOf("proto", proto, List.of("tcp", "udp"));
        if (host == null) {
            throw new SpecError("host", "is required (host.port)");
        }
        if (guest == null) {
            throw new SpecError("guest", "is required (guest.port)");
        }
        if (from.equals("guest") && guest.address().isEmpty()) {
            throw new SpecError("guest.address", "is required when from is guest");
        }
    }
}
