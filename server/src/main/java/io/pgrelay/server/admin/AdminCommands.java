package io.pgrelay.server.admin;

import static io.pgrelay.wire.message.backend.BackendMessage.Column.text;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.server.reload.Reloader;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientIdentity;
import io.pgrelay.server.session.SessionServices;
import io.pgrelay.wire.SqlState;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses and runs the console's commands. SHOW commands read a {@link Snapshot}; PAUSE, RESUME,
 * KILL and SHUTDOWN act on the pools and clients. Each answer is a future completed on the
 * console's event loop, since some must wait for other loops or for leases to end.
 */
final class AdminCommands {
    /** How long PAUSE waits for the leased server connections of the paused databases to come back. */
    static final Duration PAUSE_WAIT = Duration.ofSeconds(10);
    static final String CANNOT_PAUSE_CONSOLE = "the admin console database " + AdminConsole.DATABASE
            + " cannot be paused";
    private static final Logger log = LoggerFactory.getLogger(AdminCommands.class);
    private static final long PAUSE_POLL_MILLIS = 50;
    private static final String VERSION = readVersion();

    /** The commands and what they do, for SHOW HELP and the error on an unknown command. */
    private static final List<List<String>> HELP = List.of(
            List.of("SHOW POOLS", "clients and server connections per (database, user, node) pool"),
            List.of("SHOW CLIENTS", "one row per client connection"),
            List.of("SHOW SERVERS", "one row per server connection"),
            List.of("SHOW STATS", "logins, server connections opened, queries and transactions per (database, user)"),
            List.of("SHOW DATABASES", "one row per (database, node) in use"),
            List.of("SHOW ROUTING", "per node: leases in flight, transactions, and statements routed there per reason"),
            List.of("SHOW CONFIG", "the configuration in effect"),
            List.of("SHOW VERSION", "the pgrelay version"),
            List.of("SHOW HELP", "this list"),
            List.of("PAUSE [db]", "new leases for db (or every database) wait until RESUME; waits up to "
                    + PAUSE_WAIT.toSeconds() + "s for leased server connections to come back"),
            List.of("RESUME [db]", "ends a PAUSE"),
            List.of("KILL db", "closes the client and server connections of db at once"),
            List.of("PROMOTE node", "promotes the standby node now, when no primary is in service"),
            List.of("ATTACH node", "puts a DETACHED or FENCED node back in service after checking it"),
            List.of("DETACH node", "takes node out of service; refused for the primary in service"),
            List.of("RELOAD", "re-reads the configuration as SIGHUP does: one row per changed key, applied or "
                    + "restart_needed; an invalid file changes nothing"),
            List.of("SHUTDOWN", "stops pgrelay gracefully, as SIGTERM does"));
    private static final String COMMAND_LIST = "SHOW POOLS|CLIENTS|SERVERS|STATS|DATABASES|ROUTING|CONFIG|VERSION|HELP, "
            + "PAUSE [db], RESUME [db], KILL db, PROMOTE|ATTACH|DETACH node, RELOAD, SHUTDOWN";

    /**
     * Session parameters a driver may SET right after connecting (pgjdbc sets application_name):
     * the console has no session to apply them to, so it accepts them and ignores them.
     */
    private static final Set<String> CLIENT_PARAMETERS = Set.of("application_name", "extra_float_digits",
            "client_min_messages", "datestyle", "timezone", "intervalstyle", "search_path", "statement_timeout");
    private static final Pattern SET = Pattern.compile("SET\\s+(?:SESSION\\s+)?([A-Za-z_]+)\\s*(?:=|\\s+TO\\s).*",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private final SessionServices services;
    private final EventExecutor loop;

    AdminCommands(SessionServices services, EventExecutor loop) {
        this.services = services;
        this.loop = loop;
    }

    /** The statements of a query string: split at semicolons, blank ones dropped. */
    static List<String> split(String sql) {
        List<String> out = new ArrayList<>();
        for (String part : sql.split(";")) {
            if (!part.isBlank()) {
                out.add(part.strip());
            }
        }
        return out;
    }

    /** Runs one statement; the future completes on the console's loop and never fails for a user error. */
    Future<Reply> execute(String statement) {
        Matcher set = SET.matcher(statement);
        if (set.matches()) {
            return now(set(set.group(1).toLowerCase(Locale.ROOT)));
        }
        String[] words = statement.split("\\s+");
        String verb = words[0].toUpperCase(Locale.ROOT);
        String argument = words.length > 1 ? unquote(words[1]) : null;
        if (words.length > 2 || (words.length > 1 && List.of("RELOAD", "SHUTDOWN").contains(verb))) {
            return now(unknown(statement));
        }
        return switch (verb) {
            case "SHOW" -> argument == null ? now(unknown(statement)) : show(argument.toUpperCase(Locale.ROOT), statement);
            case "PAUSE" -> pause(argument);
            case "RESUME" -> now(resume(argument));
            case "KILL" -> argument == null
                    ? now(Reply.error(SqlState.SYNTAX_ERROR, "KILL needs a database name: KILL db"))
                    : kill(argument);
            case "PROMOTE", "ATTACH", "DETACH" -> argument == null
                    ? now(Reply.error(SqlState.SYNTAX_ERROR, verb + " needs a node name: " + verb + " node"))
                    : node(NodeControl.Operation.valueOf(verb), argument);
            case "RELOAD" -> reload();
            case "SHUTDOWN" -> now(shutdown());
            default -> now(unknown(statement));
        };
    }

    /** The changed keys as rows, or the problems of an invalid configuration as F0000. */
    private Future<Reply> reload() {
        Reloader reloader = services.reloader();
        if (reloader == null) {
            return now(Reply.error(SqlState.FEATURE_NOT_SUPPORTED, "this pgrelay has no configuration to reload"));
        }
        Promise<Reply> reply = loop.newPromise();
        reloader.reloadAsync().whenComplete((r, e) -> {
            if (e != null) {
                reply.setSuccess(Reply.error(SqlState.INTERNAL_ERROR, "reload failed: " + e));
            } else if (!r.ok()) {
                reply.setSuccess(Reply.error(SqlState.CONFIG_FILE_ERROR, r.summary()));
            } else {
                reply.setSuccess(Reply.table("RELOAD", List.of(text("key"), text("old"), text("new"), text("status")),
                        r.changed().stream().map(c -> List.of(c.key(), c.oldValue(), c.newValue(), c.status())).toList()));
            }
        });
        return reply;
    }

    private Future<Reply> show(String what, String statement) {
        return switch (what) {
            case "POOLS" -> fromSnapshot(s -> AdminViews.pools(s, services.config()));
            case "CLIENTS" -> fromSnapshot(AdminViews::clients);
            case "SERVERS" -> fromSnapshot(AdminViews::servers);
            case "STATS" -> fromSnapshot(s -> AdminViews.stats(s, services.stats().logins()));
            case "DATABASES" -> fromSnapshot(s -> AdminViews.databases(s, services.config(), services.pools()::paused));
            case "CONFIG" -> now(Reply.table("SHOW", AdminViews.config(services.config())));
            case "ROUTING" -> now(Reply.table("SHOW", AdminViews.routing(services.router().counters().all())));
            case "VERSION" -> now(Reply.table("SHOW", List.of(text("version")), List.of(List.of("pgrelay " + VERSION))));
            case "HELP" -> now(Reply.table("SHOW", List.of(text("command"), text("description")), HELP));
            default -> now(unknown(statement));
        };
    }

    private static Reply set(String parameter) {
        if (CLIENT_PARAMETERS.contains(parameter)) {
            return Reply.done("SET");
        }
        return Reply.error(SqlState.FEATURE_NOT_SUPPORTED, "the pgrelay admin console does not keep setting "
                + parameter + "; it accepts SET only for the client session parameters "
                + String.join(", ", CLIENT_PARAMETERS.stream().sorted().toList()) + ", and ignores them");
    }

    private static Reply unknown(String statement) {
        return Reply.error(SqlState.SYNTAX_ERROR, "unknown pgrelay admin console command \"" + statement
                + "\"; the console knows " + COMMAND_LIST);
    }

    private Future<Reply> fromSnapshot(Function<Snapshot, View> view) {
        Promise<Reply> reply = loop.newPromise();
        fromSnapshot(services, loop, view).addListener(f -> {
            if (f.isSuccess()) {
                reply.trySuccess(Reply.table("SHOW", (View) f.getNow()));
            } else {
                reply.tryFailure(f.cause());
            }
        });
        return reply;
    }

    /** A view of a fresh snapshot; the future completes on {@code home}. */
    static Future<View> fromSnapshot(SessionServices services, EventExecutor home, Function<Snapshot, View> view) {
        Promise<View> result = home.newPromise();
        Snapshot.take(services, home).addListener(f -> {
            if (f.isSuccess()) {
                result.trySuccess(view.apply((Snapshot) f.getNow()));
            } else {
                result.tryFailure(f.cause());
            }
        });
        return result;
    }

    /**
     * Pauses, then waits until no server connection of the paused databases is leased, for at
     * most {@link #PAUSE_WAIT}; says so in a NOTICE when leases remain.
     */
    private Future<Reply> pause(String database) {
        if (AdminConsole.DATABASE.equals(database)) {
            return now(Reply.error(SqlState.INVALID_PARAMETER_VALUE, CANNOT_PAUSE_CONSOLE));
        }
        Promise<Reply> reply = loop.newPromise();
        pauseAndWait(services, loop, database).addListener(f -> {
            int leased = (Integer) f.getNow();
            reply.trySuccess(leased == 0 ? Reply.done("PAUSE") : Reply.done("PAUSE", "PAUSE is in force, but "
                    + leased + " server connection" + (leased == 1 ? " is" : "s are") + " still leased after "
                    + PAUSE_WAIT.toSeconds() + "s; they are not interrupted"));
        });
        return reply;
    }

    /**
     * Pauses {@code database} (every database when null), then waits until none of its server
     * connections is leased, for at most {@link #PAUSE_WAIT}. The future completes on {@code home}
     * with the number still leased: 0, or how many outlived the wait.
     */
    static Future<Integer> pauseAndWait(SessionServices services, EventExecutor home, String database) {
        services.pools().pause(database);
        log.info("PAUSE {}", database == null ? "of all databases" : "of database " + database);
        Promise<Integer> result = home.newPromise();
        long deadline = System.nanoTime() + PAUSE_WAIT.toNanos();
        ScheduledFuture<?> poll = home.scheduleAtFixedRate(() -> {
            int leased = leased(services, database);
            if (leased == 0 || System.nanoTime() >= deadline) {
                result.trySuccess(leased);
            }
        }, 0, PAUSE_POLL_MILLIS, TimeUnit.MILLISECONDS);
        result.addListener(f -> poll.cancel(false));
        return result;
    }

    /** Leased server connections of {@code database} (all when null), read from the pools' counters. */
    private static int leased(SessionServices services, String database) {
        int leased = 0;
        for (Pool p : services.pools().all()) {
            if (database == null || p.key().database().equals(database)) {
                // A plain read from another loop: PAUSE polls, so a late value only costs one more round.
                leased += p.active();
            }
        }
        return leased;
    }

    private Reply resume(String database) {
        resume(services, database);
        return Reply.done("RESUME");
    }

    static void resume(SessionServices services, String database) {
        services.pools().resume(database);
        log.info("RESUME {}", database == null ? "of all databases" : "of database " + database);
    }

    /** Ends the clients of {@code database} with 57P01, then closes its pools' server connections. */
    private Future<Reply> kill(String database) {
        if (AdminConsole.DATABASE.equals(database)) {
            return now(Reply.error(SqlState.INVALID_PARAMETER_VALUE, "KILL " + AdminConsole.DATABASE
                    + " is not allowed: it would end this console; use SHUTDOWN to stop pgrelay"));
        }
        int clients = 0;
        for (ClientHandler c : services.clients()) {
            ClientIdentity id = c.identity();
            if (id != null && id.database().equals(database)) {
                c.kill("terminating connection due to administrator command (KILL " + database + ")");
                clients++;
            }
        }
        // Queued behind the kills on each loop (a client leases from its own loop's pool), so
        // a killed client's server is closed after the client has let go of it.
        List<Future<Integer>> closing = new ArrayList<>();
        for (Pool p : services.pools().all()) {
            if (p.key().database().equals(database)) {
                closing.add(p.loop().submit(() -> {
                    List<ServerConnection> servers = p.servers();
                    servers.forEach(ServerConnection::close);
                    return servers.size();
                }));
            }
        }
        log.info("KILL {}: {} client connections", database, clients);
        Promise<Reply> reply = loop.newPromise();
        String killed = "closed " + clients + " client connection" + (clients == 1 ? "" : "s");
        whenAll(closing, servers -> reply.trySuccess(Reply.done("KILL", killed + " and " + servers
                + " server connection" + (servers == 1 ? "" : "s") + " of database " + database)), reply);
        return reply;
    }

    /** Calls {@code done} on the console's loop with the sum of the futures' values once all are in. */
    private void whenAll(List<Future<Integer>> futures, IntConsumer done, Promise<Reply> reply) {
        if (futures.isEmpty()) {
            done.accept(0);
            return;
        }
        int[] sum = new int[1];
        int[] remaining = {futures.size()};
        for (Future<Integer> f : futures) {
            f.addListener(x -> loop.execute(() -> {
                if (!x.isSuccess()) {
                    reply.tryFailure(x.cause());
                    return;
                }
                sum[0] += f.getNow();
                if (--remaining[0] == 0) {
                    done.accept(sum[0]);
                }
            }));
        }
    }

    /**
     * Runs the operation off the loop; a refusal is an ErrorResponse with 55000 (the node is not
     * in a state that allows it), an unknown node 42704.
     */
    private Future<Reply> node(NodeControl.Operation operation, String node) {
        NodeControl control = services.nodeControl();
        if (control == null) {
            return now(Reply.error(SqlState.FEATURE_NOT_SUPPORTED, "node control is not set up in this process"));
        }
        Promise<Reply> reply = loop.newPromise();
        control.run(loop, operation, node).addListener(f -> {
            NodeControl.Outcome o = (NodeControl.Outcome) f.getNow();
            reply.trySuccess(switch (o.status()) {
                case DONE -> Reply.done(operation.name(), o.message());
                case REFUSED -> Reply.error(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE, o.message());
                case UNKNOWN_NODE -> Reply.error(SqlState.UNDEFINED_OBJECT, o.message());
                case UNAVAILABLE -> Reply.error(SqlState.CANNOT_CONNECT_NOW, o.message());
            });
        });
        return reply;
    }

    private Reply shutdown() {
        log.info("SHUTDOWN requested on the admin console");
        return Reply.done("SHUTDOWN").then(services::requestShutdown);
    }

    private Future<Reply> now(Reply reply) {
        return loop.newSucceededFuture(reply);
    }

    /** A database name as typed; double quotes only delimit it. */
    private static String unquote(String word) {
        return word.length() >= 2 && word.startsWith("\"") && word.endsWith("\"")
                ? word.substring(1, word.length() - 1).replace("\"\"", "\"") : word;
    }

    private static String readVersion() {
        Properties p = new Properties();
        try (InputStream in = AdminCommands.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            log.warn("cannot read pgrelay's version: {}", e.toString());
        }
        return p.getProperty("version", "unknown");
    }
}
