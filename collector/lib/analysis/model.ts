// The fleet model in SQL: what ingest stores (events, report parts, per-method records, file offsets) and the
// derived tables brought up to date from them after each ingest. Column names are the contract documented in the README ("Tables").

import { columnList, COUNTERS, LATENCY_COLUMNS, RECORDS, SIZE_COLUMNS, STATUSES } from './columns'

const STATUS = 'MAP(VARCHAR, BIGINT)'
const EMPTY_STATUS = 'MAP {}::MAP(VARCHAR, BIGINT)'

/** What a row of `traffic` is keyed by. */
const TRAFFIC_KEYS = ['day', 'anonymous_id', 'instance_id', 'version', 'report_id', 'endpoint', 'method']

/** The condition that a link (record c, predecessor p) carries traffic: requests, responses or aborts since p. */
const MOVED = ['requests', 'responses', 'aborted'].map(x => `coalesce(c.${x}, 0) <> coalesce(p.${x}, 0)`).join(' OR ')

/**
 * Per link of `links` (a record `rid` and its predecessor `prid`, none before an instance's first report) that
 * carries traffic: its `carry` columns and `counters` of the record minus those of the predecessor.
 */
const linkDeltas = (links: string, carry: string[], counters: string[]): string => `
  SELECT ${['rid', 'prid', ...carry].map(c => `k.${c}`).join(', ')}${counters.map(x => `, coalesce(c.${x}, 0) - coalesce(p.${x}, 0) AS ${x}`).join('')}
  FROM ${links} k JOIN records c ON c.rid = k.rid LEFT JOIN records p ON p.rid = k.prid WHERE ${MOVED}`

/**
 * Per (…by) group of the links of `links` and status code, the records' counts minus their predecessors', where
 * it is not 0: one signed pass over the narrow record_status table.
 */
/** The per-code counts `code`, `n` of each group as a MAP, codes in order. */
const STATUS_MAP = "map_from_entries(list({'key': code, 'value': n} ORDER BY code))"

const linkStatus = (links: string, by: string): string => `
  SELECT ${by}, code, sum(n)::BIGINT AS n FROM (
    SELECT k.${by}, s.code, s.n FROM ${links} k JOIN record_status s ON s.rid = k.rid
    UNION ALL
    SELECT k.${by}, s.code, -s.n FROM ${links} k JOIN record_status s ON s.rid = k.prid)
  GROUP BY ALL HAVING sum(n) <> 0`

/** The version of the tables below; a database of another version is refused (see db.ts). Version 1 had no marker. */
export const MODEL_VERSION = 2

export const SCHEMA = `
SET TimeZone = 'UTC';
-- DuckDB checkpoints whenever its write-ahead log passes 16 MB, so every chunk an ingest commits checkpointed the
-- whole database; the log may grow over one run instead, and closing the database checkpoints once.
SET checkpoint_threshold = '16GB';
-- events.message_id and parts (report_id, part) are unique because LOAD only inserts what is not stored yet; no
-- index enforces it, since keeping one cost every load and every checkpoint about a second at 30 days.
CREATE TABLE IF NOT EXISTS ingest_model (version INTEGER);
INSERT INTO ingest_model SELECT ${MODEL_VERSION} WHERE NOT EXISTS (SELECT 1 FROM ingest_model);
CREATE TABLE IF NOT EXISTS events (
  message_id VARCHAR, source_id VARCHAR, kind VARCHAR, anonymous_id VARCHAR, instance_id VARCHAR,
  schema_version INTEGER, received_at TIMESTAMP, day DATE, properties JSON);
CREATE TABLE IF NOT EXISTS parts (
  report_id VARCHAR, part INTEGER, parts INTEGER, instance_id VARCHAR, anonymous_id VARCHAR, schema_version INTEGER,
  uptime BIGINT, received_at TIMESTAMP, rss BIGINT, heap_used BIGINT, first_rid BIGINT);
CREATE TABLE IF NOT EXISTS ${RECORDS.name} (${columnList(RECORDS)});
CREATE TABLE IF NOT EXISTS ${STATUSES.name} (${columnList(STATUSES)});
CREATE TABLE IF NOT EXISTS part_facts (report_id VARCHAR, part INTEGER, name VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS part_features (report_id VARCHAR, part INTEGER, name VARCHAR, n BIGINT);
-- Records are appended before the load that commits their parts: those with ids from next_rid on are not committed.
-- (In a database of an earlier release every record is committed.)
CREATE TABLE IF NOT EXISTS ingest_state (next_rid BIGINT);
INSERT INTO ingest_state SELECT n FROM (SELECT coalesce(max(rid), 0) + 1 AS n FROM records) WHERE NOT EXISTS (SELECT 1 FROM ingest_state);
CREATE TABLE IF NOT EXISTS ingest_files (
  file VARCHAR PRIMARY KEY, source_id VARCHAR, received_day BIGINT, "offset" BIGINT, size BIGINT, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS ingest_dirty (anonymous_id VARCHAR, instance_id VARCHAR, report_id VARCHAR);
-- Installations forgotten (forget.ts): their events are never loaded again, from any file or source.
CREATE TABLE IF NOT EXISTS forgotten (anonymous_id VARCHAR PRIMARY KEY, forgotten_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS installations (anonymous_id VARCHAR, first_day DATE, last_day DATE);
CREATE TABLE IF NOT EXISTS instances (
  instance_id VARCHAR, anonymous_id VARCHAR, version VARCHAR, hash VARCHAR, os VARCHAR, arch VARCHAR, num_cpu INTEGER,
  runtime_version VARCHAR, first_day DATE, last_day DATE);
CREATE TABLE IF NOT EXISTS activity (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR);
CREATE TABLE IF NOT EXISTS reports (
  report_id VARCHAR, instance_id VARCHAR, anonymous_id VARCHAR, version VARCHAR, uptime BIGINT, received_at TIMESTAMP,
  day DATE, parts INTEGER, rss BIGINT, heap_used BIGINT);
CREATE TABLE IF NOT EXISTS links (
  rid BIGINT, prid BIGINT, report_id VARCHAR, part INTEGER, endpoint VARCHAR, method VARCHAR, day DATE, anonymous_id VARCHAR,
  instance_id VARCHAR, version VARCHAR, uptime BIGINT, cum BIGINT, received_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS daily_instance_traffic (
  day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, endpoint VARCHAR, method VARCHAR, requests BIGINT,
  responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[],
  size_unknown BIGINT, size_sum DOUBLE);
CREATE TABLE IF NOT EXISTS daily_traffic (
  day DATE, version VARCHAR, endpoint VARCHAR, method VARCHAR, installations BIGINT, instances BIGINT, requests BIGINT,
  responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[],
  size_unknown BIGINT);
CREATE TABLE IF NOT EXISTS installation_traffic (
  anonymous_id VARCHAR, version VARCHAR, endpoint VARCHAR, method VARCHAR, first_day DATE, last_day DATE, requests BIGINT,
  responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], size_buckets BIGINT[], errors_5xx BIGINT);
CREATE TABLE IF NOT EXISTS daily_instance_facts (
  day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, name VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS daily_instance_features (
  day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, name VARCHAR, uses BIGINT);
CREATE TABLE IF NOT EXISTS daily_facts (
  day DATE, version VARCHAR, name VARCHAR, value VARCHAR, installations BIGINT, instances BIGINT);
CREATE TABLE IF NOT EXISTS daily_features (
  day DATE, version VARCHAR, name VARCHAR, installations BIGINT, installations_using BIGINT, uses BIGINT);
CREATE OR REPLACE VIEW traffic AS
SELECT day, anonymous_id, instance_id, version, report_id, endpoint, method, requests, responses, aborted,
  coalesce(status, ${EMPTY_STATUS}) AS status, [${LATENCY_COLUMNS.join(', ')}] AS latency_buckets, latency_sum,
  [${SIZE_COLUMNS.join(', ')}] AS size_buckets, size_unknown, size_sum
FROM (${linkDeltas('links', TRAFFIC_KEYS, COUNTERS)}) d
LEFT JOIN (SELECT rid, ${STATUS_MAP} AS status FROM (${linkStatus('links', 'rid')}) GROUP BY rid)
  USING (rid);
CREATE OR REPLACE VIEW memory_by_version AS
SELECT day, version, anonymous_id, rss, heap_used FROM reports WHERE rss IS NOT NULL OR heap_used IS NOT NULL;
`

/** `text` as an SQL string literal. */
export function literal (text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

const bigint = (column: string): string => `TRY_CAST(${column} AS BIGINT)`
const timestamp = (ms: string): string => `make_timestamp(CAST(${ms} AS BIGINT) * 1000)`

/**
 * Moves what the staged tables hold (see columns.ts) into events and parts: events new by messageId (the first
 * staged copy wins) and not of a forgotten installation, parts new by (reportId, part). The stage's records, ids `from` to `to` - 1, were appended to
 * records and record_status already; those of parts not new are deleted, and ingest_state moves past `to`, in the same
 * transaction. The installations and instances of the new events are remembered in ingest_dirty for the derived
 * tables to catch up. The new events are left in the temporary table `fresh`, and how many staged events were of
 * forgotten installations in `kept_out`.
 */
export const load = (from: number, to: number): string => `
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT seq, message_id, source_id, kind, anonymous_id, instance_id, schema_version, ${timestamp('received_ms')} AS received_at, properties
FROM staged_events s WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id)
  AND NOT EXISTS (SELECT 1 FROM forgotten f WHERE f.anonymous_id = s.anonymous_id)
QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY seq) = 1;
INSERT INTO events
SELECT message_id, source_id, kind, anonymous_id, instance_id, schema_version, received_at, CAST(received_at AS DATE), properties FROM fresh;
INSERT INTO ingest_dirty SELECT DISTINCT anonymous_id, instance_id, NULL FROM fresh;
CREATE OR REPLACE TEMP TABLE fresh_parts AS
SELECT p.* FROM staged_parts p SEMI JOIN fresh f ON p.seq = f.seq
WHERE NOT EXISTS (SELECT 1 FROM parts o WHERE o.report_id = p.report_id AND o.part = p.part)
QUALIFY row_number() OVER (PARTITION BY report_id, part ORDER BY seq) = 1;
INSERT INTO parts
SELECT report_id, part, parts, instance_id, anonymous_id, schema_version, ${bigint('uptime')}, ${timestamp('received_ms')},
  ${bigint('rss')}, ${bigint('heap_used')}, CASE WHEN records > 0 THEN CAST(first_rid AS BIGINT) END
FROM fresh_parts;
INSERT INTO ingest_dirty SELECT DISTINCT anonymous_id, instance_id, report_id FROM fresh_parts;
INSERT INTO part_facts SELECT p.report_id, p.part, f.name, f.value FROM staged_facts f JOIN fresh_parts p USING (seq);
INSERT INTO part_features SELECT p.report_id, p.part, f.name, f.n FROM staged_features f JOIN fresh_parts p USING (seq);
CREATE OR REPLACE TEMP TABLE stale AS
SELECT unnest(range(CAST(first_rid AS BIGINT), CAST(first_rid + records AS BIGINT))) AS rid
FROM staged_parts p WHERE records > 0 AND NOT EXISTS (SELECT 1 FROM fresh_parts f WHERE f.seq = p.seq);
DELETE FROM records WHERE rid >= ${from} AND rid IN (SELECT rid FROM stale);
DELETE FROM record_status WHERE rid >= ${from} AND rid IN (SELECT rid FROM stale);
UPDATE ingest_state SET next_rid = ${to};
CREATE OR REPLACE TEMP TABLE kept_out AS SELECT count(*) AS n FROM staged_events s SEMI JOIN forgotten f ON f.anonymous_id = s.anonymous_id;
DELETE FROM staged_events; DELETE FROM staged_parts; DELETE FROM staged_facts; DELETE FROM staged_features;
`

/**
 * The first record id no load has committed, and the statement that deletes records and status codes from it on: a
 * run that stopped after appending them and before its load committed left them, and the files they came from are
 * read again.
 */
export const NEXT_RID = 'SELECT next_rid AS n FROM ingest_state'
export const dropUncommitted = (next: number): string =>
  `DELETE FROM records WHERE rid >= ${next}; DELETE FROM record_status WHERE rid >= ${next}`

/** `[sum(column[1]), …, sum(column[n])]` (DuckDB lists are 1-based). */
function sumList (column: string, length: number): string {
  return `[${Array.from({ length }, (_, i) => `sum(${column}[${i + 1}])::BIGINT`).join(', ')}]`
}

/** Per-key status counts, summed over the rows of each group of `by`, as a MAP. */
function statusSums (from: string, by: string): string {
  return `SELECT ${by}, ${STATUS_MAP} AS status,
    coalesce(sum(n) FILTER (WHERE code LIKE '5__'), 0)::BIGINT AS errors_5xx
  FROM (SELECT ${by}, s.key AS code, sum(s.value)::BIGINT AS n FROM ${from}, unnest(map_entries(status)) AS t(s) GROUP BY ALL)
  GROUP BY ALL`
}

const inSet = (column: string, set: string): string => `${column} IN (SELECT ${column.replace(/^\w+\./, '')} FROM ${set})`
/** The join condition of two relations on the (…columns) group (anonymous_id may be NULL: compared as not distinct). */
const sameGroup = (a: string, b: string, columns: string[]): string => columns.map(c => `${a}.${c} IS NOT DISTINCT FROM ${b}.${c}`).join(' AND ')
/** Rows of `alias` whose (…columns) group is in `set`. */
const inGroups = (alias: string, set: string, columns: string[]): string => `EXISTS (SELECT 1 FROM ${set} g WHERE ${sameGroup('g', alias, columns)})`
/** `[sum(columns[0]), …]`: flat counters summed into a list. */
const sumEach = (columns: string[]): string => `[${columns.map(c => `sum(${c})::BIGINT`).join(', ')}]`

const INSTANCE_DAY = ['day', 'anonymous_id', 'instance_id', 'version', 'endpoint', 'method']
const DAILY = ['day', 'version', 'endpoint', 'method']
const PER_INSTALLATION = ['anonymous_id', 'version', 'endpoint', 'method']
const LINK_COLUMNS = 'rid, prid, report_id, part, endpoint, method, day, anonymous_id, instance_id, version, uptime, cum, received_at'

// `uptime` is in whole seconds, so two reports of an instance can share it (short intervals, the final report on
// close); the record's own cumulative counts (`cum`), which never decrease within an instance, order them then.
const LINK_ORDER = 'uptime, cum, received_at, report_id, part'

/**
 * Brings every derived table up to date with the events that arrived since the last update (ingest_dirty), and
 * recomputes only what they can change: the installations and instances they belong to and those instances'
 * activity; the reports that got a part (all reports of an instance whose version changed); for each instance
 * with such a report, the links (record → predecessor) from the earliest such report on (a late part or a filled
 * gap changes the later deltas of that instance only); then the instance-day roll-up groups that any deleted or
 * inserted link belongs to, and the daily and per-installation groups above those. Each step is the query a rebuild
 * from scratch runs, restricted to those keys, so ingesting in several runs yields the same tables as one run.
 */
export const UPDATE = `
CREATE OR REPLACE TEMP TABLE d_anon AS SELECT DISTINCT anonymous_id FROM ingest_dirty WHERE anonymous_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE d_inst AS SELECT DISTINCT instance_id FROM ingest_dirty WHERE instance_id IS NOT NULL;
-- Events without an instance count in activity under their installation alone.
CREATE OR REPLACE TEMP TABLE d_anon_alone AS SELECT DISTINCT anonymous_id FROM ingest_dirty WHERE instance_id IS NULL AND anonymous_id IS NOT NULL;

DELETE FROM installations WHERE ${inSet('anonymous_id', 'd_anon')};
INSERT INTO installations
SELECT anonymous_id, min(day), max(day) FROM events WHERE ${inSet('anonymous_id', 'd_anon')} GROUP BY anonymous_id;

CREATE OR REPLACE TEMP TABLE d_old_version AS SELECT instance_id, version FROM instances WHERE ${inSet('instance_id', 'd_inst')};
DELETE FROM instances WHERE ${inSet('instance_id', 'd_inst')};
INSERT INTO instances
WITH seen AS (
  SELECT instance_id, arg_min(anonymous_id, received_at) AS anonymous_id, min(day) AS first_day, max(day) AS last_day
  FROM events WHERE ${inSet('instance_id', 'd_inst')} GROUP BY instance_id),
traits AS (
  SELECT instance_id, arg_max(properties, received_at) AS t FROM events
  WHERE kind = 'identify' AND ${inSet('instance_id', 'd_inst')} GROUP BY instance_id)
SELECT instance_id, anonymous_id, coalesce(t->>'version', 'unknown') AS version, t->>'hash' AS hash, t->>'os' AS os,
  t->>'arch' AS arch, try_cast(t->>'numCpu' AS INTEGER) AS num_cpu, t->>'runtimeVersion' AS runtime_version, first_day, last_day
FROM seen LEFT JOIN traits USING (instance_id);

DELETE FROM activity WHERE ${inSet('instance_id', 'd_inst')} OR (instance_id IS NULL AND ${inSet('anonymous_id', 'd_anon_alone')});
INSERT INTO activity
SELECT DISTINCT e.day, e.anonymous_id, e.instance_id, coalesce(i.version, 'unknown') AS version
FROM events e LEFT JOIN instances i USING (instance_id)
WHERE e.anonymous_id IS NOT NULL AND (${inSet('e.instance_id', 'd_inst')} OR (e.instance_id IS NULL AND ${inSet('e.anonymous_id', 'd_anon_alone')}));

CREATE OR REPLACE TEMP TABLE d_rep AS
SELECT report_id FROM ingest_dirty WHERE report_id IS NOT NULL
UNION
SELECT report_id FROM parts WHERE instance_id IN (
  SELECT n.instance_id FROM instances n LEFT JOIN d_old_version o USING (instance_id)
  WHERE ${inSet('n.instance_id', 'd_inst')} AND o.version IS DISTINCT FROM n.version);
-- Where each instance's links must be recomputed from: the lowest uptime of a report replaced, before or after.
CREATE OR REPLACE TEMP TABLE d_from AS SELECT instance_id, uptime FROM reports WHERE ${inSet('report_id', 'd_rep')};
DELETE FROM reports WHERE ${inSet('report_id', 'd_rep')};
INSERT INTO reports
WITH r AS (
  SELECT report_id, any_value(instance_id) AS instance_id, any_value(anonymous_id) AS anonymous_id, max(uptime) AS uptime,
    max(received_at) AS received_at, max(parts) AS parts, min(parts) AS min_parts, count(*) AS arrived, max(part) AS last_part,
    max(rss) FILTER (WHERE part = 1) AS rss, max(heap_used) FILTER (WHERE part = 1) AS heap_used
  FROM parts WHERE ${inSet('report_id', 'd_rep')} GROUP BY report_id)
SELECT r.report_id, r.instance_id, r.anonymous_id, coalesce(i.version, 'unknown') AS version, r.uptime, r.received_at,
  CAST(r.received_at AS DATE) AS day, r.parts, r.rss, r.heap_used
FROM r LEFT JOIN instances i USING (instance_id)
WHERE r.arrived = r.parts AND r.min_parts = r.parts AND r.last_part = r.parts;
INSERT INTO d_from SELECT instance_id, uptime FROM reports WHERE ${inSet('report_id', 'd_rep')};
CREATE OR REPLACE TEMP TABLE d_start AS SELECT instance_id, min(uptime) AS uptime FROM d_from GROUP BY instance_id;
-- The reports whose links are replaced: those gone or changed, and every later one of the same instance.
CREATE OR REPLACE TEMP TABLE d_redo AS
SELECT report_id FROM d_rep
UNION
SELECT r.report_id FROM reports r JOIN d_start s ON r.instance_id = s.instance_id AND r.uptime >= s.uptime;

-- The records (and links) of those reports have ids from the lowest first_rid of their parts on: a bound that spares
-- the scans below every row group of records and links before it (a daily run reads about a day of them).
SET VARIABLE redo_from = (SELECT coalesce(min(first_rid), 0) FROM parts WHERE ${inSet('report_id', 'd_redo')});
CREATE OR REPLACE TEMP TABLE d_groups AS
SELECT DISTINCT ${INSTANCE_DAY.join(', ')} FROM links WHERE rid >= getvariable('redo_from') AND ${inSet('report_id', 'd_redo')};
DELETE FROM links WHERE rid >= getvariable('redo_from') AND ${inSet('report_id', 'd_redo')};
-- The records of the reports to redo; every link kept for their instances comes before them (its report is below
-- the instance's d_start), so for each (instance, endpoint, method) only the last one kept can be a predecessor.
CREATE OR REPLACE TEMP TABLE d_new AS
SELECT c.rid, r.report_id, c.part, c.endpoint, c.method, r.day, r.anonymous_id, r.instance_id, r.version, r.uptime,
  coalesce(c.requests, 0) + coalesce(c.responses, 0) + coalesce(c.aborted, 0) AS cum, r.received_at
FROM reports r JOIN records c USING (report_id) WHERE c.rid >= getvariable('redo_from') AND ${inSet('r.report_id', 'd_redo')};
CREATE OR REPLACE TEMP TABLE d_prior AS
SELECT instance_id, endpoint, method, arg_max(rid, {${LINK_ORDER.split(', ').map(c => `'${c}': ${c}`).join(', ')}}) AS rid
FROM links WHERE instance_id IN (SELECT DISTINCT instance_id FROM d_new) GROUP BY ALL;
-- The predecessors are found over narrow rows (the window sorts what it carries); the links take the rest from d_new.
CREATE OR REPLACE TEMP TABLE d_prid AS
SELECT rid, prid FROM (
  SELECT rid, fresh, lag(rid) OVER (PARTITION BY instance_id, endpoint, method ORDER BY fresh, ${LINK_ORDER}) AS prid
  FROM (SELECT rid, instance_id, endpoint, method, ${LINK_ORDER}, true AS fresh FROM d_new
    UNION ALL BY NAME SELECT rid, instance_id, endpoint, method, false AS fresh FROM d_prior))
WHERE fresh;
INSERT INTO links SELECT ${LINK_COLUMNS.split(', ').map(c => c === 'prid' ? 'p.prid' : `n.${c}`).join(', ')}
FROM d_new n JOIN d_prid p USING (rid) ORDER BY rid;
INSERT INTO d_groups SELECT DISTINCT ${INSTANCE_DAY.join(', ')} FROM d_new;

-- Groups are numbered (gid) so that the joins below carry one integer rather than six strings.
CREATE OR REPLACE TEMP TABLE d_instance_day AS SELECT row_number() OVER () AS gid, * FROM (SELECT DISTINCT * FROM d_groups);
DELETE FROM daily_instance_traffic t WHERE ${inGroups('t', 'd_instance_day', INSTANCE_DAY)};
-- Every link of those groups (the day first, which the links of other days fail cheaply), then those that carry
-- traffic, found over narrow columns; only their counters are then read, once, into the sums.
CREATE OR REPLACE TEMP TABLE d_group_links AS
SELECT l.rid, l.prid, g.gid FROM links l JOIN d_instance_day g ON ${sameGroup('l', 'g', INSTANCE_DAY)}
WHERE ${inSet('l.day', 'd_instance_day')};
CREATE OR REPLACE TEMP TABLE d_moved AS SELECT * FROM (${linkDeltas('d_group_links', ['gid'], [])});
INSERT INTO daily_instance_traffic
WITH sums AS (
  SELECT gid, sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses,
    sum(aborted)::BIGINT AS aborted, ${sumEach(LATENCY_COLUMNS)} AS latency_buckets,
    sum(latency_sum) AS latency_sum, ${sumEach(SIZE_COLUMNS)} AS size_buckets,
    sum(size_unknown)::BIGINT AS size_unknown, sum(size_sum) AS size_sum
  FROM (${linkDeltas('d_moved', ['gid'], COUNTERS)}) GROUP BY gid),
codes AS (
  SELECT gid, ${STATUS_MAP} AS status
  FROM (${linkStatus('d_moved', 'gid')}) GROUP BY gid)
SELECT ${INSTANCE_DAY.map(c => `g.${c}`).join(', ')}, requests, responses, aborted, coalesce(codes.status, ${EMPTY_STATUS}) AS status,
  latency_buckets, latency_sum, size_buckets, size_unknown, size_sum
FROM d_instance_day g JOIN sums s USING (gid) LEFT JOIN codes USING (gid);

CREATE OR REPLACE TEMP TABLE d_daily AS SELECT DISTINCT ${DAILY.join(', ')} FROM d_groups;
DELETE FROM daily_traffic t WHERE ${inGroups('t', 'd_daily', DAILY)};
INSERT INTO daily_traffic
WITH src AS (SELECT * FROM daily_instance_traffic t WHERE ${inGroups('t', 'd_daily', DAILY)}),
sums AS (
  SELECT day, version, endpoint, method, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_COLUMNS.length)} AS latency_buckets, sum(latency_sum) AS latency_sum,
    ${sumList('size_buckets', SIZE_COLUMNS.length)} AS size_buckets, sum(size_unknown)::BIGINT AS size_unknown
  FROM src GROUP BY ALL),
codes AS (${statusSums('src', DAILY.join(', '))})
SELECT day, version, endpoint, method, installations, instances, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, latency_sum, size_buckets, size_unknown
FROM sums LEFT JOIN codes USING (day, version, endpoint, method);

CREATE OR REPLACE TEMP TABLE d_installation AS SELECT DISTINCT ${PER_INSTALLATION.join(', ')} FROM d_groups;
DELETE FROM installation_traffic t WHERE ${inGroups('t', 'd_installation', PER_INSTALLATION)};
INSERT INTO installation_traffic
WITH src AS (SELECT * FROM daily_instance_traffic t WHERE ${inGroups('t', 'd_installation', PER_INSTALLATION)}),
sums AS (
  SELECT anonymous_id, version, endpoint, method, min(day) AS first_day, max(day) AS last_day,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_COLUMNS.length)} AS latency_buckets, ${sumList('size_buckets', SIZE_COLUMNS.length)} AS size_buckets
  FROM src GROUP BY ALL),
codes AS (${statusSums('src', PER_INSTALLATION.join(', '))})
SELECT s.anonymous_id, s.version, s.endpoint, s.method, first_day, last_day, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, size_buckets, coalesce(codes.errors_5xx, 0) AS errors_5xx
FROM sums s LEFT JOIN codes ON ${sameGroup('codes', 's', PER_INSTALLATION)};

-- Features: recomputed for every instance with a new event (an instance's reports are few, and its counter deltas
-- depend on all of them), then the (day, version) groups those instances were or are in.
CREATE OR REPLACE TEMP TABLE f_groups AS
SELECT day, version FROM daily_instance_facts WHERE ${inSet('instance_id', 'd_inst')}
UNION SELECT day, version FROM daily_instance_features WHERE ${inSet('instance_id', 'd_inst')};
DELETE FROM daily_instance_facts WHERE ${inSet('instance_id', 'd_inst')};
DELETE FROM daily_instance_features WHERE ${inSet('instance_id', 'd_inst')};
INSERT INTO daily_instance_facts
SELECT DISTINCT r.day, r.anonymous_id, r.instance_id, r.version, f.name, f.value
FROM reports r JOIN part_facts f USING (report_id) WHERE ${inSet('r.instance_id', 'd_inst')};
-- A counter's uses in a report: its cumulative count minus the instance's previous report's (all of it in the first).
INSERT INTO daily_instance_features
SELECT day, anonymous_id, instance_id, version, name, sum(uses)::BIGINT FROM (
  SELECT r.day, r.anonymous_id, r.instance_id, r.version, f.name,
    f.n - coalesce(lag(f.n) OVER (PARTITION BY r.instance_id, f.name ORDER BY r.uptime, f.n, r.received_at, r.report_id), 0) AS uses
  FROM reports r JOIN part_features f USING (report_id) WHERE ${inSet('r.instance_id', 'd_inst')})
GROUP BY ALL;
INSERT INTO f_groups
SELECT day, version FROM daily_instance_facts WHERE ${inSet('instance_id', 'd_inst')}
UNION SELECT day, version FROM daily_instance_features WHERE ${inSet('instance_id', 'd_inst')};
CREATE OR REPLACE TEMP TABLE f_groups AS SELECT DISTINCT * FROM f_groups;
DELETE FROM daily_facts t WHERE ${inGroups('t', 'f_groups', ['day', 'version'])};
INSERT INTO daily_facts
SELECT day, version, name, value, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances
FROM daily_instance_facts t WHERE ${inGroups('t', 'f_groups', ['day', 'version'])} GROUP BY ALL;
DELETE FROM daily_features t WHERE ${inGroups('t', 'f_groups', ['day', 'version'])};
INSERT INTO daily_features
SELECT day, version, name, count(DISTINCT anonymous_id) AS installations,
  count(DISTINCT anonymous_id) FILTER (WHERE uses > 0) AS installations_using, sum(uses)::BIGINT AS uses
FROM daily_instance_features t WHERE ${inGroups('t', 'f_groups', ['day', 'version'])} GROUP BY ALL;

DELETE FROM ingest_dirty;
`

/** The roll-up tables `export --parquet` writes. */
export const ROLLUPS = [
  'daily_traffic', 'installation_traffic', 'memory_by_version', 'activity', 'installations', 'daily_facts', 'daily_features'
] as const

export function copyToParquet (table: string, file: string): string {
  return `COPY (SELECT * FROM ${table}) TO ${literal(file)} (FORMAT parquet)`
}

export function upsertFile (file: string, sourceId: string, receivedDay: number, offset: number, size: number): string {
  return `INSERT OR REPLACE INTO ingest_files VALUES (${literal(file)}, ${literal(sourceId)}, ${receivedDay}, ${offset}, ${size}, now()::TIMESTAMP)`
}
