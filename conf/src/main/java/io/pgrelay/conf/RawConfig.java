package io.pgrelay.conf;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Settings as read from one source, or from several laid over each other, not yet parsed. */
final class RawConfig {
    /** Single-valued keys by dotted name, including {@code primary}. */
    final Map<String, Raw> values = new LinkedHashMap<>();
    /** The {@code replicas} shorthand; {@code null} when not set. */
    List<Raw> replicas;
    String replicasOrigin;
    /** The {@code nodes} list; {@code null} when not set. */
    List<RawItem> nodes;
    String nodesOrigin;
    /** {@code admin.users}; {@code null} when not set. */
    List<Raw> adminUsers;
    /** {@code auth.rules}; {@code null} when not set. */
    List<RawItem> rules;
    /** {@code databases} and {@code users}; {@code null} when not set. */
    List<RawItem> databases;
    List<RawItem> users;
    /** The directory a relative {@code auth.users_file} is resolved against; null: the working directory. */
    Path usersFileBase;
    /** Set when a later source's primary/replicas shorthand replaced the file's {@code nodes}. */
    String nodesReplacedBy;

    /** Lays {@code top}, a source of higher precedence, over this one. */
    void overlay(RawConfig top) {
        if (top.values.containsKey(Keys.USERS_FILE)) {
            usersFileBase = top.usersFileBase;
        }
        values.putAll(top.values);
        if (top.nodes != null) {
            nodes = top.nodes;
            nodesOrigin = top.nodesOrigin;
        } else if (nodes != null && (top.values.containsKey(Keys.PRIMARY) || top.replicas != null)) {
            // The shorthand describes the whole topology; mixing it with some of the file's nodes
            // would leave nobody sure which servers pgrelay uses.
            Raw primary = top.values.get(Keys.PRIMARY);
            nodesReplacedBy = primary != null ? primary.where(Keys.PRIMARY)
                    : Keys.REPLICAS + " (" + top.replicasOrigin + ")";
            nodes = null;
        }
        if (top.replicas != null) {
            replicas = top.replicas;
            replicasOrigin = top.replicasOrigin;
        }
        if (top.databases != null) {
            databases = top.databases;
        }
        if (top.users != null) {
            users = top.users;
        }
        if (top.rules != null) {
            rules = top.rules;
        }
        if (top.adminUsers != null) {
            adminUsers = top.adminUsers;
        }
    }
}
