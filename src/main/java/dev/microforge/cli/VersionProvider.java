package dev.microforge.cli;

import picocli.CommandLine.IVersionProvider;

public final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"microforge " + (v != null ? v : "dev"), "Java " + System.getProperty("java.version")};
    }
}
