package io.pgrelay.router.classify;

import java.util.List;

/**
 * One row of <a href="https://www.postgresql.org/docs/current/catalog-pg-proc.html">pg_proc</a>
 * as the router needs it.
 *
 * @param argTypes    argument type names, or an empty list when unknown; informative only: overloads
 *                    are merged per name, keeping the most volatile
 * @param volatility  {@code provolatile}: {@code 'i'} immutable, {@code 's'} stable, {@code 'v'} volatile
 */
public record CatalogFunction(String schema, String name, List<String> argTypes, char volatility) {
    public CatalogFunction {
        argTypes = argTypes == null ? List.of() : List.copyOf(argTypes);
        if (volatility != 'i' && volatility != 's' && volatility != 'v') {
            throw new IllegalArgumentException("provolatile of " + schema + "." + name + " is '" + volatility
                    + "'; expected 'i', 's' or 'v'");
        }
    }
}
