package io.pgrelay.server.admin;

import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.Column;
import io.pgrelay.wire.message.backend.BackendMessage.CommandComplete;
import io.pgrelay.wire.message.backend.BackendMessage.DataRow;
import io.pgrelay.wire.message.backend.BackendMessage.Errors;
import io.pgrelay.wire.message.backend.BackendMessage.RowDescription;
import java.util.ArrayList;
import java.util.List;

/**
 * The answer to one console statement, short of ReadyForQuery.
 *
 * @param messages   what the client gets, in order
 * @param failed     true when it ends in an ErrorResponse, which ends the query string
 * @param afterReply run on the console's event loop once the reply is written (SHUTDOWN), or null
 */
record Reply(List<BackendMessage> messages, boolean failed, Runnable afterReply) {
    Reply {
        messages = List.copyOf(messages);
    }

    /** A result set: RowDescription, a DataRow per row, CommandComplete {@code tag}. */
    static Reply table(String tag, List<Column> columns, List<List<String>> rows) {
        List<BackendMessage> out = new ArrayList<>(rows.size() + 2);
        out.add(new RowDescription(columns));
        rows.forEach(r -> out.add(new DataRow(r)));
        out.add(new CommandComplete(tag));
        return new Reply(out, false, null);
    }

    /** A view as a result set: booleans as yes/no, numbers in their decimal text form, null as NULL. */
    static Reply table(String tag, View view) {
        List<Column> columns = view.fields().stream()
                .map(f -> f.type() == View.Type.INT8 ? Column.int8(f.name()) : Column.text(f.name())).toList();
        List<List<String>> rows = new ArrayList<>(view.rows().size());
        for (List<Object> r : view.rows()) {
            List<String> texts = new ArrayList<>(r.size());
            for (Object v : r) {
                texts.add(v == null ? null : v instanceof Boolean b ? (b ? "yes" : "no") : v.toString());
            }
            rows.add(texts);
        }
        return table(tag, columns, rows);
    }

    /** A command without rows, with notices before its CommandComplete. */
    static Reply done(String tag, String... notices) {
        List<BackendMessage> out = new ArrayList<>();
        for (String n : notices) {
            out.add(Errors.notice(n));
        }
        out.add(new CommandComplete(tag));
        return new Reply(out, false, null);
    }

    static Reply error(String sqlState, String message) {
        return new Reply(List.of(Errors.error(sqlState, message)), true, null);
    }

    Reply then(Runnable action) {
        return new Reply(messages, failed, action);
    }
}
