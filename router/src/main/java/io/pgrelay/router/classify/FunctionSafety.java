package io.pgrelay.router.classify;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether a called function may run on a hot standby. Immutable; a catalog refresh builds a new
 * one. Decided in this order:
 * <ol>
 * <li>the configured deny list ({@code write_function_list} in pgpool's words), then the configured
 *     allow list ({@code read_only_function_list}): the operator has the last word;</li>
 * <li>the built-in deny list: functions that write, fail on a standby, or whose answer depends on
 *     the server session or node (sequences, transaction ids, WAL positions, advisory locks,
 *     set_config, pg_notify, large objects, replication slots, backend pids ...), whatever their
 *     volatility says;</li>
 * <li>a volatile user function of the same name in another schema makes the name unsafe;</li>
 * <li>the built-in allow list: read-only functions, most of them volatile (random, clock_timestamp,
 *     gen_random_uuid, pg_is_in_recovery, relation sizes ...) and common built-ins known before any
 *     catalog is read;</li>
 * <li>the catalog ({@code pg_proc.provolatile}): immutable and stable are safe, volatile is not;</li>
 * <li>anything else is unknown, and goes to the primary.</li>
 * </ol>
 * Overloads are merged per name keeping the most volatile one. The lists take exact names,
 * optionally schema-qualified, or prefixes ending in {@code *} (pgpool's {@code .*} is read as
 * {@code *}); they are folded as PostgreSQL folds identifiers ({@link FunctionNames}), and catalog
 * names are taken as {@code pg_proc} stores them. An allow entry with a schema matches only calls
 * written with that schema; a deny entry with a schema also matches unqualified calls of its name,
 * since the search_path may resolve them to it.
 */
public final class FunctionSafety {
    private static final String PG_CATALOG = "pg_catalog.";

    private static final Map<String, Reason> BUILT_IN_DENY = new HashMap<>();
    private static final List<String> BUILT_IN_DENY_PREFIXES = List.of(
            "pg_advisory_", "pg_try_advisory_", "lo_", "pg_replication_origin_", "pg_stat_reset",
            "pg_logical_slot_", "dblink");

    static {
        for (String f : List.of("nextval", "setval", "currval", "lastval", "pg_sequence_last_value")) {
            BUILT_IN_DENY.put(f, Reason.SEQUENCE_FUNCTION);
        }
        BUILT_IN_DENY.put("set_config", Reason.SET_CONFIG);
        for (String f : List.of("pg_notify", "pg_listening_channels", "pg_notification_queue_usage")) {
            BUILT_IN_DENY.put(f, Reason.LISTEN_NOTIFY);
        }
        for (String f : List.of(
                // stable, yet they assign or expose the primary's transaction ids and snapshots
                "txid_current", "txid_current_if_assigned", "txid_current_snapshot", "pg_current_xact_id",
                "pg_current_xact_id_if_assigned", "pg_current_snapshot", "pg_export_snapshot",
                // WAL writes, or errors during recovery
                "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_switch_wal",
                "pg_create_restore_point", "pg_backup_start", "pg_backup_stop", "pg_start_backup",
                "pg_stop_backup", "pg_walfile_name", "pg_walfile_name_offset", "pg_log_standby_snapshot",
                "pg_logical_emit_message",
                // about the server session or node that runs them
                "pg_backend_pid", "pg_my_temp_schema", "pg_cancel_backend", "pg_terminate_backend", "setseed",
                "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_stat_statements_reset",
                "loread", "lowrite", "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
                "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
                "pg_copy_logical_replication_slot", "pg_replication_slot_advance", "pg_import_system_collations",
                "pg_nextoid")) {
            BUILT_IN_DENY.put(f, Reason.UNSAFE_FUNCTION);
        }
    }

    private static final Set<String> BUILT_IN_ALLOW = Set.of(
            // volatile but read-only
            "random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid", "uuidv4", "uuidv7",
            "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "pg_is_in_recovery", "pg_sleep",
            "pg_sleep_for", "pg_sleep_until", "pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn",
            "pg_last_xact_replay_timestamp", "pg_is_wal_replay_paused", "pg_relation_size",
            "pg_total_relation_size", "pg_table_size", "pg_indexes_size", "pg_database_size",
            "pg_tablespace_size",
            // SQL syntax that a parser may report as a function call
            "coalesce", "nullif", "greatest", "least", "grouping",
            // immutable or stable built-ins, known before the catalog is read
            "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "json_agg", "jsonb_agg",
            "json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every", "lower", "upper", "length",
            "char_length", "substr", "concat", "concat_ws", "replace", "split_part", "btrim", "ltrim", "rtrim",
            "left", "right", "lpad", "rpad", "md5", "abs", "round", "floor", "ceil", "ceiling", "trunc", "mod",
            "now", "statement_timestamp", "transaction_timestamp", "date_trunc", "date_part", "to_char",
            "to_date", "to_timestamp", "to_number", "age", "make_date", "make_interval", "generate_series",
            "unnest", "array_length", "cardinality", "array_position", "array_remove", "array_to_string",
            "string_to_array", "regexp_replace", "regexp_matches", "regexp_match", "format", "row_number",
            "rank", "dense_rank", "lag", "lead", "first_value", "last_value", "ntile", "to_json", "to_jsonb",
            "row_to_json", "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array",
            "jsonb_set", "jsonb_array_elements", "json_array_elements", "jsonb_each", "json_each",
            "jsonb_extract_path_text", "json_extract_path_text", "current_setting", "current_database",
            "current_schema", "current_schemas", "version", "inet_server_port", "inet_server_addr",
            "has_table_privilege", "pg_get_indexdef", "pg_get_viewdef", "pg_get_constraintdef",
            "pg_table_is_visible", "format_type", "obj_description", "col_description", "pg_size_pretty",
            "quote_ident", "quote_literal", "quote_nullable", "to_tsvector", "to_tsquery", "plainto_tsquery",
            "websearch_to_tsquery", "ts_rank", "similarity");

    private final Map<String, Character> catalog;
    private final Set<String> foreignVolatile;
    private final Rules allow;
    private final Rules deny;

    private FunctionSafety(Map<String, Character> catalog, Set<String> foreignVolatile, Rules allow, Rules deny) {
        this.catalog = catalog;
        this.foreignVolatile = foreignVolatile;
        this.allow = allow;
        this.deny = deny;
    }

    /** Built-in lists only: no catalog has been read yet. */
    public static FunctionSafety builtIn() {
        return new FunctionSafety(Map.of(), Set.of(), Rules.EMPTY, Rules.EMPTY);
    }

    /**
     * With a catalog (e.g. from {@link PgProcLoader}) and the configured lists.
     *
     * @param allow names read as replica-safe ({@code read_only_function_list})
     * @param deny  names that send a statement to the primary ({@code write_function_list})
     */
    public static FunctionSafety of(Collection<CatalogFunction> catalogRows, Collection<String> allow,
                                    Collection<String> deny) {
        Map<String, Character> volatility = new HashMap<>(catalogRows.size() * 2);
        Set<String> foreign = new java.util.HashSet<>();
        for (CatalogFunction f : catalogRows) {
            // pg_proc holds names already folded; "MixedCase" functions keep their case, as calls do.
            String name = f.name();
            String qualified = f.schema() + "." + name;
            volatility.merge(qualified, f.volatility(), FunctionSafety::worst);
            volatility.merge(name, f.volatility(), FunctionSafety::worst);
            if (f.volatility() == 'v' && !f.schema().equals("pg_catalog")) {
                foreign.add(name);
            }
        }
        return new FunctionSafety(Map.copyOf(volatility), Set.copyOf(foreign), Rules.of(allow), Rules.of(deny));
    }

    private static char worst(char a, char b) {
        return a == 'v' || b == 'v' ? 'v' : a == 's' || b == 's' ? 's' : 'i';
    }

    public boolean hasCatalog() {
        return !catalog.isEmpty();
    }

    /** Whether {@code other} decides every function as this does: same catalog and lists. */
    public boolean sameRules(FunctionSafety other) {
        return catalog.equals(other.catalog) && foreignVolatile.equals(other.foreignVolatile)
                && allow.equals(other.allow) && deny.equals(other.deny);
    }

    /**
     * Null when {@code function} (as {@link io.pgrelay.router.sql.StatementInfo#functions()} names
     * it) is replica-safe, else why it is not.
     */
    public Reason check(String function) {
        int dot = function.lastIndexOf('.');
        String bare = dot < 0 ? function : function.substring(dot + 1);
        // Built-in lists describe pg_catalog's functions: a name qualified by another schema is someone else's.
        boolean builtInName = dot < 0 || function.startsWith(PG_CATALOG) && dot == PG_CATALOG.length() - 1;
        if (deny.matches(function, bare) || dot < 0 && deny.qualifiedBare().contains(bare)) {
            return Reason.UNSAFE_FUNCTION;
        }
        if (allow.matches(function, bare)) {
            return null;
        }
        if (builtInName) {
            Reason denied = builtInDeny(bare);
            if (denied != null) {
                return denied;
            }
            if (dot < 0 && foreignVolatile.contains(bare)) {
                return Reason.UNSAFE_FUNCTION;
            }
            if (BUILT_IN_ALLOW.contains(bare)) {
                return null;
            }
        }
        Character v = catalog.get(function);
        if (v == null) {
            return Reason.UNKNOWN_FUNCTION;
        }
        return v == 'v' ? Reason.UNSAFE_FUNCTION : null;
    }

    private static Reason builtInDeny(String bare) {
        Reason exact = BUILT_IN_DENY.get(bare);
        if (exact != null) {
            return exact;
        }
        for (String prefix : BUILT_IN_DENY_PREFIXES) {
            if (bare.startsWith(prefix)) {
                return prefix.contains("advisory") ? Reason.ADVISORY_LOCK : Reason.UNSAFE_FUNCTION;
            }
        }
        return null;
    }

    /**
     * A configured list: exact names, the bare names of its schema-qualified exact names, and
     * prefixes.
     */
    private record Rules(Set<String> exact, Set<String> qualifiedBare, List<String> prefixes) {
        static final Rules EMPTY = new Rules(Set.of(), Set.of(), List.of());

        static Rules of(Collection<String> names) {
            Set<String> exact = new java.util.HashSet<>();
            Set<String> qualifiedBare = new java.util.HashSet<>();
            List<String> prefixes = new java.util.ArrayList<>();
            for (String raw : names) {
                String name = FunctionNames.fold(raw);
                if (name.endsWith(".*")) {
                    prefixes.add(name.substring(0, name.length() - 2));
                } else if (name.endsWith("*")) {
                    prefixes.add(name.substring(0, name.length() - 1));
                } else if (!name.isEmpty()) {
                    exact.add(name);
                    int dot = name.lastIndexOf('.');
                    if (dot >= 0) {
                        qualifiedBare.add(name.substring(dot + 1));
                    }
                }
            }
            return new Rules(Set.copyOf(exact), Set.copyOf(qualifiedBare), List.copyOf(prefixes));
        }

        boolean matches(String qualified, String bare) {
            if (exact.contains(qualified) || exact.contains(bare)) {
                return true;
            }
            for (String p : prefixes) {
                if (qualified.startsWith(p) || bare.startsWith(p)) {
                    return true;
                }
            }
            return false;
        }
    }
}
