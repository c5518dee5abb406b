package io.pgrelay.pool;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The names of the statements pgrelay has prepared on one server connection, least recently used
 * first, so that the oldest can be closed when the connection holds too many.
 */
public final class ServerPreparedStatements {
    private final int capacity;
    private final LinkedHashMap<String, Boolean> names = new LinkedHashMap<>(16, 0.75f, true);

    ServerPreparedStatements(int capacity) {
        this.capacity = capacity;
    }

    /** True when {@code name} is prepared here; counts as a use. */
    public boolean contains(String name) {
        return names.get(name) != null;
    }

    /**
     * Records {@code name} as prepared.
     *
     * @return the least recently used name to close first when the connection is full, else null
     */
    public String add(String name) {
        String evicted = null;
        if (names.size() >= capacity && !names.containsKey(name)) {
            Map.Entry<String, Boolean> eldest = names.entrySet().iterator().next();
            evicted = eldest.getKey();
            names.remove(evicted);
        }
        names.put(name, Boolean.TRUE);
        return evicted;
    }

    /** Forgets {@code name}, e.g. when its Parse failed. */
    public void remove(String name) {
        names.remove(name);
    }

    /** Forgets everything, after DISCARD ALL or DEALLOCATE ALL. */
    public void clear() {
        names.clear();
    }

    public int size() {
        return names.size();
    }
}
