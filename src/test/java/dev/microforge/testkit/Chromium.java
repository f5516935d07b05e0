package dev.microforge.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A headless Chromium (Debian's {@code chromium}) driven through its DevTools protocol over a WebSocket: one page
 * (a flattened target session), navigation, {@code Runtime.evaluate}, mouse clicks and screenshots. Started with
 * {@code --remote-debugging-port=0}; the port is read from {@code DevToolsActivePort} in the profile directory.
 * Exceptions the page throws are collected ({@link #pageErrors()}).
 */
public final class Chromium implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final WebSocket socket;
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final List<String> pageErrors = new CopyOnWriteArrayList<>();
    private String session;

    private Chromium(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    /** Starts the browser with a fresh profile in {@code profile} and opens one page of the given viewport. */
    public static Chromium start(Path profile, int width, int height) throws Exception {
        Path exe = Tools.require("chromium");
        Files.createDirectories(profile);
        List<String> cmd = new ArrayList<>(List.of(exe.toString(), "--headless", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--hide-scrollbars"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.add("--no-sandbox");
        }
        cmd.add("about:blank");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true);
        pb.redirectOutput(profile.resolve("chromium.log").toFile());
        Process p = pb.start();
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            if (Files.exists(portFile)) {
                lines = Files.readAllLines(portFile);
                if (lines.size() >= 2) {
                    break;
                }
            }
            if (!p.isAlive()) {
                throw new AssertionError("chromium exited with " + p.exitValue() + ": " + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(50);
        }
        if (lines.size() < 2) {
            p.destroyForcibly();
            throw new AssertionError("chromium wrote no DevToolsActivePort within 60 s");
        }
        URI ws = URI.create("ws://127.0.0.1:" + lines.get(0).trim() + lines.get(1).trim());
        Listener listener = new Listener();
        WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30))
                .buildAsync(ws, listener).get(30, TimeUnit.SECONDS);
        Chromium c = new Chromium(p, socket);
        listener.owner = c;
        String target = c.call("Target.createTarget", Map.of("url", "about:blank"), null).get("targetId").asText();
        c.session = c.call("Target.attachToTarget", Map.of("targetId", target, "flatten", true), null).get("sessionId").asText();
        c.send("Page.enable", Map.of());
        c.send("Runtime.enable", Map.of());
        c.send("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", false));
        return c;
    }

    private static final class Listener implements WebSocket.Listener {
        volatile Chromium owner;
        private final StringBuilder buf = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            buf.append(data);
            if (last) {
                String msg = buf.toString();
                buf.setLength(0);
                try {
                    owner.receive(JSON.readTree(msg));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            ws.request(1);
            return null;
        }
    }

    private void receive(JsonNode msg) {
        if (msg.has("id")) {
            CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
            if (f != null) {
                if (msg.has("error")) {
                    f.completeExceptionally(new AssertionError("DevTools error: " + msg.get("error")));
                } else {
                    f.complete(msg.get("result"));
                }
            }
        } else if ("Runtime.exceptionThrown".equals(msg.path("method").asText())) {
            pageErrors.add(msg.get("params").get("exceptionDetails").toString());
        }
    }

    private JsonNode call(String method, Map<String, ?> params, String sessionId) throws Exception {
        int id = ids.incrementAndGet();
        ObjectNode msg = JSON.createObjectNode();
        msg.put("id", id);
        msg.put("method", method);
        msg.set("params", JSON.valueToTree(params));
        if (sessionId != null) {
            msg.put("sessionId", sessionId);
        }
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        socket.sendText(JSON.writeValueAsString(msg), true).get(30, TimeUnit.SECONDS);
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer to " + method + " within 60 s");
        }
    }

    /** A DevTools command on the page's session; its result. */
    public JsonNode send(String method, Map<String, ?> params) throws Exception {
        return call(method, params, session);
    }

    /** Loads {@code file} and waits until {@code readyExpression} is true (or fails after {@code timeoutMs}). */
    public void open(Path file, String readyExpression, long timeoutMs) throws Exception {
        send("Page.navigate", Map.of("url", file.toAbsolutePath().toUri().toString()));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            JsonNode v = evaluate(readyExpression);
            if (v.asBoolean(false)) {
                return;
            }
            if (!pageErrors.isEmpty()) {
                throw new AssertionError(file + ": the page threw " + pageErrors);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(file + ": not ready within " + timeoutMs + " ms (" + readyExpression + ")");
            }
            Thread.sleep(50);
        }
    }

    /** Evaluates an expression in the page (promises awaited); its value as JSON; a thrown exception fails. */
    public JsonNode evaluate(String expression) throws Exception {
        JsonNode r = send("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (r.has("exceptionDetails")) {
            throw new AssertionError("evaluate " + expression + ": " + r.get("exceptionDetails"));
        }
        JsonNode v = r.get("result").get("value");
        return v == null ? JSON.nullNode() : v;
    }

    /** A left click at page coordinates (CSS pixels of the viewport), as a user's mouse would. */
    public void click(double x, double y) throws Exception {
        send("Input.dispatchMouseEvent", Map.of("type", "mouseMoved", "x", x, "y", y));
        send("Input.dispatchMouseEvent", Map.of("type", "mousePressed", "x", x, "y", y, "button", "left", "clickCount", 1));
        send("Input.dispatchMouseEvent", Map.of("type", "mouseReleased", "x", x, "y", y, "button", "left", "clickCount", 1));
    }

    /** A key press (DevTools key names: "Enter", "Escape", "ArrowRight", ...) on the focused element. */
    public void key(String key) throws Exception {
        send("Input.dispatchKeyEvent", Map.of("type", "keyDown", "key", key, "code", key));
        send("Input.dispatchKeyEvent", Map.of("type", "keyUp", "key", key, "code", key));
    }

    /** A PNG of the whole page, written to {@code out}. */
    public void screenshot(Path out) throws Exception {
        screenshot(out, true);
    }

    /** A PNG of the whole page or of the viewport only, written to {@code out}. */
    public void screenshot(Path out, boolean wholePage) throws Exception {
        JsonNode r = send("Page.captureScreenshot", Map.of("format", "png", "captureBeyondViewport", wholePage));
        Files.createDirectories(out.getParent());
        Files.write(out, Base64.getDecoder().decode(r.get("data").asText()));
    }

    public List<String> pageErrors() {
        return List.copyOf(pageErrors);
    }

    @Override
    public void close() throws Exception {
        try {
            call("Browser.close", Map.of(), null);
        } catch (Exception | AssertionError e) {
            // the browser may already be gone; it is killed below either way
        }
        socket.abort();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
