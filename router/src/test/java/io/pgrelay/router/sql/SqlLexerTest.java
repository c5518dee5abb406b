package io.pgrelay.router.sql;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SqlLexerTest {

    /** One line per statement: kind[/inner] then the flags set; "!" marks an incomplete text. */
    static String summary(SqlAnalysis a) {
        String s = a.statements().stream().map(st -> {
            StringBuilder b = new StringBuilder(st.kind().name());
            if (st.innerKind() != st.kind()) {
                b.append('/').append(st.innerKind());
            }
            if (st.explainAnalyze()) {
                b.append(" analyze");
            }
            if (st.lockingClause() != null) {
                b.append(' ').append(st.lockingClause());
            }
            if (st.selectInto()) {
                b.append(" into");
            }
            if (st.writingCte()) {
                b.append(" writing-cte");
            }
            if (st.copyFrom()) {
                b.append(" copy-from");
            }
            if (st.copyToStdout()) {
                b.append(" to-stdout");
            }
            if (!st.functions().isEmpty()) {
                b.append(" f=").append(String.join(",", st.functions()));
            }
            if (st.readOnlyTransaction()) {
                b.append(" read-only");
            }
            if ((st.transactionModes() & StatementInfo.READ_WRITE) != 0) {
                b.append(" read-write");
            }
            if ((st.transactionModes() & StatementInfo.SERIALIZABLE) != 0) {
                b.append(" serializable");
            }
            return b.toString();
        }).collect(Collectors.joining("; "));
        return a.complete() ? s : s + " !";
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\u0000', textBlock = """
            SELECT 1                                                   | SELECT
            select abalance from pgbench_accounts where aid = $1       | SELECT
            -- DELETE FROM t\\nSELECT 1                                 | SELECT
            /* INSERT */ SELECT 1                                      | SELECT
            /* outer /* DELETE */ still comment */ SELECT 1            | SELECT
            /* outer /* nested */ UPDATE t SET a = 1 */ SELECT 1       | SELECT
            SELECT 'DELETE FROM x'                                     | SELECT
            SELECT 'it''s; DELETE FROM x'                              | SELECT
            SELECT E'\\' ; DELETE FROM x'                              | SELECT
            SELECT e'a\\'b', nextval('s')                              | SELECT f=nextval
            SELECT U&'d\\0061t\\+000061; DELETE'                       | SELECT
            SELECT U&"d\\0061t" FROM t                                 | SELECT
            SELECT $$ UPDATE t SET a = 1; $$                           | SELECT
            SELECT $tag$ a $$ ; DELETE $ $tag$                         | SELECT
            SELECT $a$ $b$ ; $b$ $a$, 1                                | SELECT
            SELECT * FROM t WHERE a = $1 AND b = $2                    | SELECT
            SELECT "DELETE" FROM "t;x"                                 | SELECT
            SELECT "a""b" FROM t; DELETE FROM t                        | SELECT; DELETE
            SELECT 1.5e10, .5, 1e-3, 0x1F, 1_000                       | SELECT
            SELECT 1;;  ; SELECT 2;                                    | SELECT; SELECT
            ;;                                                         |
            -- only a comment                                          |
            SELECT 'open                                               | SELECT !
            SELECT $$ open                                             | SELECT !
            SELECT 1 /* open                                           | SELECT !
            SELECT "open                                               | SELECT !
            (SELECT 1) UNION (SELECT 2)                                | SELECT
            VALUES (1), (2)                                            | VALUES
            TABLE users                                                | TABLE
            SHOW search_path                                           | SHOW
            SELECT count(*), now(), pg_catalog.now() FROM t            | SELECT f=count,now,pg_catalog.now
            SELECT "NextVal"('s'), public.f(1)                         | SELECT f=NextVal,public.f
            SELECT x::numeric(10,2), CAST(y AS varchar(3)) FROM t      | SELECT
            SELECT a FROM generate_series(1,3) g(i)                    | SELECT f=generate_series
            SELECT a FROM t WHERE b IN (1,2) AND EXISTS (SELECT 1)     | SELECT
            SELECT coalesce(a, b), greatest(1, 2), extract(year from d) | SELECT
            SELECT count(*) FILTER (WHERE a) OVER (PARTITION BY b)     | SELECT f=count
            SELECT * FROM t FOR UPDATE                                 | SELECT FOR UPDATE
            SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED              | SELECT FOR NO KEY UPDATE
            SELECT * FROM t for share                                  | SELECT FOR SHARE
            SELECT * FROM t FOR KEY SHARE OF t NOWAIT                  | SELECT FOR KEY SHARE
            SELECT substring(a FROM 1 FOR 2) FROM t                    | SELECT
            SELECT * INTO newtable FROM t                              | SELECT into
            SELECT * INTO TEMP x FROM t                                | SELECT into
            INSERT INTO t (a, b) VALUES (1, 2)                         | INSERT
            INSERT INTO t SELECT * FROM u RETURNING id                 | INSERT
            WITH x AS (SELECT 1) SELECT * FROM x                       | WITH/SELECT
            WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT * FROM r | WITH/SELECT
            WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d      | WITH/SELECT writing-cte
            WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT 1        | WITH/SELECT writing-cte
            WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x         | WITH/INSERT writing-cte
            WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x     | WITH/SELECT FOR UPDATE
            WITH x AS (SELECT t.update FROM t) SELECT 1                | WITH/SELECT
            EXPLAIN SELECT 1                                           | EXPLAIN/SELECT
            EXPLAIN ANALYZE DELETE FROM t                              | EXPLAIN/DELETE analyze
            EXPLAIN ANALYSE VERBOSE SELECT 1                           | EXPLAIN/SELECT analyze
            EXPLAIN (ANALYZE, BUFFERS) SELECT 1                        | EXPLAIN/SELECT analyze
            EXPLAIN (ANALYZE false, COSTS) UPDATE t SET a = 1          | EXPLAIN/UPDATE
            EXPLAIN (FORMAT JSON) WITH x AS (SELECT 1) SELECT * FROM x | EXPLAIN/SELECT
            COPY t FROM STDIN                                          | COPY copy-from
            COPY t (a, b) TO STDOUT WITH (FORMAT csv)                  | COPY to-stdout
            COPY (SELECT * FROM t WHERE a FROM b) TO stdout            | COPY/SELECT to-stdout
            COPY t TO '/tmp/x'                                         | COPY
            BEGIN                                                      | BEGIN
            BEGIN READ ONLY                                            | BEGIN read-only
            begin transaction isolation level serializable, read only, deferrable | BEGIN read-only serializable
            BEGIN READ WRITE                                           | BEGIN read-write
            BEGIN ISOLATION LEVEL REPEATABLE READ                      | BEGIN
            START TRANSACTION READ ONLY                                | START_TRANSACTION read-only
            START TRANSACTION READ ONLY, READ WRITE                    | START_TRANSACTION read-write
            SET TRANSACTION READ ONLY                                  | SET_TRANSACTION read-only
            COMMIT; END; ROLLBACK; ABORT                               | COMMIT; COMMIT; ROLLBACK; ROLLBACK
            PREPARE TRANSACTION 'x'                                    | PREPARE_TRANSACTION
            CALL do_it(1)                                              | CALL f=do_it
            DO $$ BEGIN UPDATE t SET a = 1; END $$                     | DO
            LOCK TABLE t IN ACCESS EXCLUSIVE MODE                      | LOCK
            CREATE TABLE t (a int)                                     | DDL
            CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; SELECT 2 | DDL; SELECT
            VACUUM ANALYZE t                                           | DDL
            frobnicate the widgets                                     | OTHER
            """)
    void statementFacts(String sql, String expected) {
        String text = sql.replace("\\n", "\n");
        assertEquals(expected == null ? "" : expected, summary(SqlLexer.analyze(text)), text);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\u0000', textBlock = """
            SET search_path TO myschema, public                 | SetParameter[name=search_path, value=myschema, public]
            set Statement_Timeout = 5000                        | SetParameter[name=statement_timeout, value=5000]
            SET SESSION DateStyle TO 'ISO, DMY'                  | SetParameter[name=datestyle, value='ISO, DMY']
            SET myapp.user_id = '42' -- trailing comment         | SetParameter[name=myapp.user_id, value='42']
            SET x=-1                                             | SetParameter[name=x, value=-1]
            SET TIME ZONE 'Europe/Paris'                         | SetParameter[name=timezone, value='Europe/Paris']
            SET TIME ZONE LOCAL                                  | ResetParameter[name=timezone]
            SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE       | Pin[reason=SET TIME ZONE INTERVAL]
            SET SCHEMA 'app'                                     | SetParameter[name=search_path, value='app']
            SET NAMES 'UTF8'                                     | SetParameter[name=client_encoding, value='UTF8']
            SET XML OPTION CONTENT                               | SetParameter[name=xmloption, value=CONTENT]
            SET work_mem TO DEFAULT                              | ResetParameter[name=work_mem]
            SET LOCAL statement_timeout = '1s'                   | SetLocal[name=statement_timeout, value='1s']
            SET LOCAL ROLE app                                   | SetLocal[name=role, value=app]
            SET ROLE app                                         | Pin[reason=SET ROLE]
            SET role = 'app'                                     | Pin[reason=SET ROLE]
            SET SESSION AUTHORIZATION 'bob'                      | Pin[reason=SET SESSION AUTHORIZATION]
            SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY | SetParameter[name=default_transaction_read_only, value=on]
            SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ | SetParameter[name=default_transaction_isolation, value='repeatable read']
            SET TRANSACTION ISOLATION LEVEL SERIALIZABLE         |
            SET CONSTRAINTS ALL DEFERRED                         |
            SET work_mem                                         | Pin[reason=unrecognised SET]
            RESET work_mem                                       | ResetParameter[name=work_mem]
            RESET myapp.user_id                                  | ResetParameter[name=myapp.user_id]
            RESET TIME ZONE                                      | ResetParameter[name=timezone]
            RESET ALL                                            | ResetAll[]
            RESET ROLE                                           | ResetParameter[name=role]
            DISCARD ALL                                          | DiscardAll[]
            DISCARD PLANS                                        |
            LISTEN channel                                       | Pin[reason=LISTEN]
            NOTIFY channel, 'x'                                  |
            UNLISTEN *                                           |
            SELECT pg_advisory_lock(1)                           | Pin[reason=session advisory lock]
            SELECT pg_catalog.pg_try_advisory_lock_shared(1, 2)  | Pin[reason=session advisory lock]
            SELECT pg_advisory_xact_lock(1)                      |
            SELECT pg_advisory_unlock(1)                         |
            SELECT set_config('app.user', '1', false)            | Pin[reason=set_config]
            SELECT set_config('request.jwt', $1, true)           |
            PREPARE q (int) AS SELECT $1                         | Pin[reason=SQL-level PREPARE]
            PREPARE TRANSACTION 'gid'                            |
            EXECUTE q (1)                                        |
            DEALLOCATE q                                         | DeallocatePrepared[name=q]
            DEALLOCATE PREPARE "Q1"                              | DeallocatePrepared[name=Q1]
            deallocate all                                       | DeallocateAll[]
            CREATE TEMP TABLE t (a int)                          | Pin[reason=temporary table]
            CREATE GLOBAL TEMPORARY TABLE IF NOT EXISTS t (a int) | Pin[reason=temporary table]
            CREATE TEMP TABLE t (a int) ON COMMIT DROP           |
            CREATE TABLE pg_temp.t (a int)                       | Pin[reason=temporary table]
            CREATE OR REPLACE TEMP VIEW v AS SELECT 1            | Pin[reason=temporary view]
            CREATE TEMPORARY SEQUENCE s                          | Pin[reason=temporary sequence]
            CREATE TABLE t (a int)                               |
            SELECT * INTO TEMP TABLE x FROM t                    | Pin[reason=temporary table]
            SELECT * INTO TEMPORARY x FROM t                     | Pin[reason=temporary table]
            SELECT * INTO x FROM t                               |
            DECLARE c CURSOR WITH HOLD FOR SELECT 1              | Pin[reason=cursor WITH HOLD]
            DECLARE c SCROLL CURSOR WITHOUT HOLD FOR SELECT 1    |
            LOAD 'auto_explain'                                  | Pin[reason=LOAD]
            SET a = 1; SET b = 2                                 | SetParameter[name=a, value=1], SetParameter[name=b, value=2]
            SELECT 1                                             |
            """)
    void sessionEffects(String sql, String expected) {
        List<SessionEffect> effects = SqlLexer.analyze(sql).effects();
        assertEquals(expected == null ? "" : expected,
                effects.stream().map(Object::toString).collect(Collectors.joining(", ")), sql);
    }

    @Test
    void statementsWithoutEffectsShareTheEmptyList() {
        assertSame(SessionEffect.NONE, SqlLexer.analyze("SELECT 1").effects());
        assertSame(SessionEffect.NONE, SqlLexer.analyze("SELECT 1; UPDATE t SET a = 2").effects());
        assertSame(SessionEffect.NONE, SqlLexer.analyze("SELECT 1").statements().get(0).effects());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\u0000', textBlock = """
            SELECT abalance FROM t WHERE aid = 17        | select abalance from t where aid=18
            SELECT * FROM t WHERE a IN (1, 2, 3)         | SELECT * FROM t WHERE a IN (4,5)
            SELECT * FROM t WHERE s = 'x'                | SELECT * FROM t WHERE s = E'y\\'z'
            SELECT * FROM t WHERE s = $$x$$              | SELECT * FROM t WHERE s = 'x'
            SELECT 1.5e10                                | SELECT 7
            SELECT /* c */ a -- d\\n FROM t               | SELECT a FROM t
            SELECT a FROM t;                             | SELECT a FROM t
            SELECT * FROM t WHERE a IN ('a', 'b')        | SELECT * FROM t WHERE a IN ('c')
            """)
    void sameShapeSameFingerprint(String a, String b) {
        String left = a.replace("\\n", "\n");
        String right = b.replace("\\n", "\n");
        assertEquals(SqlLexer.analyze(left).fingerprint(), SqlLexer.analyze(right).fingerprint());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\u0000', textBlock = """
            SELECT a FROM t                       | SELECT b FROM t
            SELECT a FROM t                       | SELECT "A" FROM t
            SELECT a FROM t                       | /* pgrelay: primary */ SELECT a FROM t
            SELECT a FROM t                       | /*NO LOAD BALANCE*/ SELECT a FROM t
            SELECT a b FROM t                     | SELECT ab FROM t
            SELECT * FROM t WHERE a = $1          | SELECT * FROM t WHERE a = $2
            SELECT * FROM t WHERE a IN (1, x)     | SELECT * FROM t WHERE a IN (1)
            SELECT 1; SELECT 2                    | SELECT 1 SELECT 2
            SELECT * FROM t                       | SELECT * FROM t FOR UPDATE
            SELECT nextval('a')                   | SELECT currval('a')
            SELECT 'a'                            | SELECT 'a
            EXPLAIN (ANALYZE 0) DELETE FROM t     | EXPLAIN (ANALYZE 1) DELETE FROM t
            """)
    void differentShapeDifferentFingerprint(String a, String b) {
        assertNotEquals(SqlLexer.analyze(a).fingerprint(), SqlLexer.analyze(b).fingerprint());
    }

    @Test
    void foldingTouchesOnlyAsciiCapitals() {
        byte[] mixed = "AZaz@[_\u00c9".getBytes(UTF_8);
        long v = java.nio.ByteBuffer.wrap(mixed, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        long folded = SqlLexer.foldAscii(v);
        byte[] out = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(folded).array();
        assertEquals("azaz@[_", new String(out, 0, 7, UTF_8));
        assertEquals(mixed[7], out[7], "the first byte of a UTF-8 sequence is left alone");
        assertEquals(SqlLexer.analyze("SELECT PGBENCH_ACCOUNTS_LONG_NAME FROM T").fingerprint(),
                SqlLexer.analyze("select pgbench_accounts_long_name from t").fingerprint());
        assertNotEquals(SqlLexer.analyze("SELECT \"PGBENCH_ACCOUNTS\" FROM t").fingerprint(),
                SqlLexer.analyze("SELECT \"pgbench_accounts\" FROM t").fingerprint());
        assertNotEquals(SqlLexer.analyze("SELECT caf\u00c9_table_name FROM t").fingerprint(),
                SqlLexer.analyze("SELECT caf\u00e9_table_name FROM t").fingerprint());
    }

    @Test
    void minLsnValueIsNotPartOfTheShape() {
        SqlAnalysis a = SqlLexer.analyze("/* pgrelay: min_lsn=0/16B3748 */ SELECT 1");
        SqlAnalysis b = SqlLexer.analyze("/* pgrelay: min_lsn=0/16B3749 */ SELECT 1");
        assertEquals(a.fingerprint(), b.fingerprint());
        assertEquals(0x16B3748L, a.hints().minLsn());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\u0000', textBlock = """
            /*NO LOAD BALANCE*/ SELECT 1                     | Hints[noLoadBalance=true, primary=false, replica=false, minLsn=-1]
            /* no load balance */ SELECT 1                   | Hints[noLoadBalance=true, primary=false, replica=false, minLsn=-1]
            /* pgrelay: primary */ SELECT 1                  | Hints[noLoadBalance=false, primary=true, replica=false, minLsn=-1]
            SELECT 1 -- pgrelay: replica                     | Hints[noLoadBalance=false, primary=false, replica=true, minLsn=-1]
            /* pgrelay: replica, min_lsn = 1/0 */ SELECT 1   | Hints[noLoadBalance=false, primary=false, replica=true, minLsn=4294967296]
            /* pgrelay: min_lsn=zz */ SELECT 1               | Hints[noLoadBalance=false, primary=true, replica=false, minLsn=-1]
            /* primary */ SELECT 1                           | Hints[noLoadBalance=false, primary=false, replica=false, minLsn=-1]
            SELECT '/* pgrelay: primary */'                  | Hints[noLoadBalance=false, primary=false, replica=false, minLsn=-1]
            """)
    void hintsInComments(String sql, String expected) {
        assertEquals(expected, SqlLexer.analyze(sql).hints().toString());
    }

    @Test
    void lsnTextRoundTrips() {
        assertEquals(0x16B3748L, Hints.parseLsn("0/16B3748"));
        assertEquals("0/16B3748", Hints.formatLsn(0x16B3748L));
        assertEquals("2A/0", Hints.formatLsn(0x2AL << 32));
        assertEquals(Hints.NO_LSN, Hints.parseLsn("-1/0"));
        assertEquals(Hints.NO_LSN, Hints.parseLsn("123"));
    }

    @Test
    void analyzesASliceOfALargerBufferAndReportsOffsetsWithinIt() {
        byte[] scratch = "XXXX SELECT 1; /* c */ UPDATE t SET a = 'é' YYYY".getBytes(UTF_8);
        int offset = 4;
        int length = scratch.length - offset - 5;
        SqlAnalysis a = SqlLexer.analyze(scratch, offset, length);
        assertEquals(2, a.statements().size());
        StatementInfo update = a.statements().get(1);
        assertEquals(StatementKind.UPDATE, update.kind());
        String text = new String(scratch, offset + update.start(), update.end() - update.start(), UTF_8);
        assertEquals("UPDATE t SET a = 'é'", text);
        assertEquals(SqlLexer.analyze("SELECT 1; UPDATE t SET a = 'x'").fingerprint(), a.fingerprint());
    }

    @Test
    void dollarParameterIsNotADollarQuote() {
        SqlAnalysis a = SqlLexer.analyze("SELECT $1, $2; DELETE FROM t WHERE id = $1");
        assertTrue(a.complete());
        assertEquals(2, a.statements().size());
        assertEquals(StatementKind.DELETE, a.statements().get(1).kind());
    }

    @Test
    void longStatementsGrowTheTokenArrays() {
        StringBuilder sql = new StringBuilder("SELECT a FROM t WHERE a IN (");
        for (int i = 0; i < 500; i++) {
            sql.append(i == 0 ? "" : ", ").append(i);
        }
        sql.append(") AND nextval('s') > 0");
        SqlAnalysis a = SqlLexer.analyze(sql.toString());
        assertEquals(List.of("nextval"), a.statements().get(0).functions());
        assertEquals(SqlLexer.analyze("SELECT a FROM t WHERE a IN (1) AND nextval('t') > 0").fingerprint(),
                a.fingerprint());
        assertFalse(a.readOnlyTransaction());
    }
}
