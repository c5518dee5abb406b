package io.pgrelay.it.support;

import java.util.ArrayList;
import java.util.List;

/**
 * What a test opened (processes, connections), closed newest first when the test ends, also when
 * it failed; a failure to close one does not keep the others open. Use with JUnit's
 * {@code @AutoClose} on an instance field.
 */
public final class Resources implements AutoCloseable {
    private final List<AutoCloseable> open = new ArrayList<>();

    /** Closes {@code resource} at the end of the test; returns it. */
    public <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }
}
