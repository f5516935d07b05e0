package dev.microforge.audit;

/** Escaping for the Markdown reports (GitHub-flavoured: tables and code spans). */
final class Markdown {
    private Markdown() {}

    /** Text in a table cell: escapes the characters that would end the cell or start markup. */
    static String text(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '|', '\\', '`', '*', '_', '[', ']', '<', '>', '#', '~' -> sb.append('\\').append(c);
                case '\n', '\r' -> sb.append(' ');
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** A code span: store paths and names never contain backticks or pipes; anything else is escaped as text. */
    static String code(String s) {
        if (s.indexOf('`') >= 0 || s.indexOf('|') >= 0 || s.indexOf('\n') >= 0) {
            return text(s);
        }
        return "`" + s + "`";
    }
}
