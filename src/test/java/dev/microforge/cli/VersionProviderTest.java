package dev.microforge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.microforge.testkit.Exec;
import dev.microforge.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/** `microforge --version` of the packaged jar (target/microforge.jar, from `mvn package`) prints the pom's version. */
class VersionProviderTest {
    /** The project's own version: the <version> child of the pom's root element. */
    static String pomVersion() throws Exception {
        Element project = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(Tools.projectRoot().resolve("pom.xml").toFile()).getDocumentElement();
        for (Node n = project.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals("version")) {
                return e.getTextContent().trim();
            }
        }
        throw new AssertionError("pom.xml has no project version");
    }

    @Test
    void packagedJarPrintsThePomVersion() throws Exception {
        Path jar = Path.of(System.getProperty("microforge.jar", Tools.projectRoot().resolve("target/microforge.jar").toString()));
        assertTrue(Files.isRegularFile(jar), jar + " missing: run mvn package first");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = List.of(java.toString(), "-jar", jar.toString(), "--version");
        Exec.Result r = Exec.run(cmd, null, null, 60).check(cmd);
        List<String> lines = r.out().lines().toList();
        String version = pomVersion();
        assertTrue(version.matches("[0-9]+\\.[0-9]+\\.[0-9]+.*"), version);
        assertEquals("microforge " + version, lines.get(0), r.out());
        assertEquals("Java " + System.getProperty("java.version"), lines.get(1), r.out());
    }
}
