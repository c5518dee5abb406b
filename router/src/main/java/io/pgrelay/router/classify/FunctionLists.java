package io.pgrelay.router.classify;

import java.util.List;

/**
 * The operator's function lists ({@code routing.read_only_functions}, {@code routing.write_functions}),
 * laid over the built-in ones and the catalog by {@link FunctionSafety}.
 *
 * @param readOnly names read as replica-safe whatever their volatility
 * @param write    names that send a statement to the primary whatever their volatility
 */
public record FunctionLists(List<String> readOnly, List<String> write) {
    public static final FunctionLists NONE = new FunctionLists(List.of(), List.of());

    public FunctionLists {
        readOnly = List.copyOf(readOnly);
        write = List.copyOf(write);
    }

    /** The lists with no catalog: built-in rules only, until pg_proc has been read. */
    public FunctionSafety withoutCatalog() {
        return FunctionSafety.of(List.of(), readOnly, write);
    }

    public FunctionSafety with(List<CatalogFunction> catalog) {
        return FunctionSafety.of(catalog, readOnly, write);
    }
}
