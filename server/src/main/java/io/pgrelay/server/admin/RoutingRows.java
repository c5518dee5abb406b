package io.pgrelay.server.admin;

import io.pgrelay.conf.RoutingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The {@code routing} section and the per-database and per-user consistency as SHOW CONFIG rows. */
final class RoutingRows {
    private RoutingRows() {
    }

    static List<List<Object>> of(RoutingConfig r) {
        List<List<Object>> rows = new ArrayList<>();
        rows.add(List.of("routing.consistency", name(r.consistency())));
        rows.add(List.of("routing.max_replica_lag", String.valueOf(r.maxReplicaLag())));
        rows.add(List.of("routing.max_replica_lag_time", AdminViews.duration(r.maxReplicaLagTime())));
        rows.add(List.of("routing.on_no_replica", name(r.onNoReplica())));
        rows.add(List.of("routing.read_only_functions", String.join(",", r.readOnlyFunctions())));
        rows.add(List.of("routing.write_functions", String.join(",", r.writeFunctions())));
        rows.add(List.of("routing.function_refresh_period", AdminViews.duration(r.functionRefreshPeriod())));
        consistencies(rows, "databases.", r.databaseConsistency());
        consistencies(rows, "users.", r.userConsistency());
        return rows;
    }

    private static void consistencies(List<List<Object>> rows, String prefix, Map<String, RoutingConfig.Consistency> byName) {
        new TreeMap<>(byName).forEach((name, c) -> rows.add(List.of(prefix + name + ".consistency", name(c))));
    }

    private static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
