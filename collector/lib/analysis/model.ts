// The fleet model in SQL: what ingest stores (events, report parts, per-method records, file offsets) and the
// derived tables brought up to date from them after each ingest. Column names are the contract documented in the README ("Tables").

import { LATENCY_BUCKETS, LATENCY_COLUMNS, SIZE_BUCKETS, SIZE_COLUMNS } from './flatten'

const STATUS = 'MAP(VARCHAR, BIGINT)'

export const SCHEMA = `
SET TimeZone = 'UTC';
CREATE TABLE IF NOT EXISTS events (
  message_id VARCHAR PRIMARY KEY, source_id VARCHAR, kind VARCHAR, anonymous_id VARCHAR, instance_id VARCHAR,
  schema_version INTEGER, received_at TIMESTAMP, day DATE, properties JSON);
CREATE TABLE IF NOT EXISTS parts (
  report_id VARCHAR, part INTEGER, parts INTEGER, instance_id VARCHAR, anonymous_id VARCHAR, schema_version INTEGER,
  uptime BIGINT, received_at TIMESTAMP, rss BIGINT, heap_used BIGINT, PRIMARY KEY (report_id, part));
CREATE TABLE IF NOT EXISTS records (
  report_id VARCHAR, part INTEGER, endpoint VARCHAR, method VARCHAR, requests BIGINT, responses BIGINT, aborted BIGINT,
  status ${STATUS}, latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[], size_unknown BIGINT,
  size_sum DOUBLE);
CREATE TABLE IF NOT EXISTS ingest_files (
  file VARCHAR PRIMARY KEY, source_id VARCHAR, received_day BIGINT, "offset" BIGINT, size BIGINT, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS ingest_dirty (anonymous_id VARCHAR, instance_id VARCHAR, report_id VARCHAR);
CREATE TABLE IF NOT EXISTS installations (anonymous_id VARCHAR, first_day DATE, last_day DATE);
CREATE TABLE IF NOT EXISTS instances (
  instance_id VARCHAR, anonymous_id VARCHAR, version VARCHAR, hash VARCHAR, os VARCHAR, arch VARCHAR, num_cpu INTEGER,
  runtime_version VARCHAR, first_day DATE, last_day DATE);
CREATE TABLE IF NOT EXISTS activity (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR);
CREATE TABLE IF NOT EXISTS reports (
  report_id VARCHAR, instance_id VARCHAR, anonymous_id VARCHAR, version VARCHAR, uptime BIGINT, received_at TIMESTAMP,
  day DATE, parts INTEGER, rss BIGINT, heap_used BIGINT);
CREATE TABLE IF NOT EXISTS traffic (
  day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, report_id VARCHAR, endpoint VARCHAR, method VARCHAR,
  requests BIGINT, responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], latency_sum DOUBLE,
  size_buckets BIGINT[], size_unknown BIGINT, size_sum DOUBLE);
CREATE TABLE IF NOT EXISTS daily_traffic (
  day DATE, version VARCHAR, endpoint VARCHAR, method VARCHAR, installations BIGINT, instances BIGINT, requests BIGINT,
  responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[],
  size_unknown BIGINT);
CREATE TABLE IF NOT EXISTS installation_traffic (
  anonymous_id VARCHAR, version VARCHAR, endpoint VARCHAR, method VARCHAR, first_day DATE, last_day DATE, requests BIGINT,
  responses BIGINT, aborted BIGINT, status ${STATUS}, latency_buckets BIGINT[], size_buckets BIGINT[], errors_5xx BIGINT);
CREATE OR REPLACE VIEW memory_by_version AS
SELECT day, version, anonymous_id, rss, heap_used FROM reports WHERE rss IS NOT NULL OR heap_used IS NOT NULL;
`

function literal (text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

const bigint = (column: string): string => `TRY_CAST(${column} AS BIGINT)`
const timestamp = (ms: string): string => `make_timestamp(CAST(${ms} AS BIGINT) * 1000)`

/**
 * Moves what the staged tables hold (see flatten.ts) into events, parts and records: events new by messageId (the
 * first staged copy wins), parts new by (reportId, part), their records; the installations and instances of the new
 * events are remembered in ingest_dirty, in the same transaction, for the derived tables to catch up. Returns the
 * number of new events as column n.
 */
export const LOAD = `
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT seq, message_id, source_id, kind, anonymous_id, instance_id, schema_version, ${timestamp('received_ms')} AS received_at, properties
FROM staged_events s WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id)
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
  ${bigint('rss')}, ${bigint('heap_used')}
FROM fresh_parts;
INSERT INTO ingest_dirty SELECT DISTINCT anonymous_id, instance_id, report_id FROM fresh_parts;
INSERT INTO records
SELECT p.report_id, p.part, k.endpoint, k.method, ${bigint('r.requests')}, ${bigint('r.responses')}, ${bigint('r.aborted')},
  from_json(r.status, '"${STATUS}"'), [${LATENCY_COLUMNS.map(c => bigint(`r.${c}`)).join(', ')}], r.latency_sum,
  [${SIZE_COLUMNS.map(c => bigint(`r.${c}`)).join(', ')}], ${bigint('r.size_unknown')}, r.size_sum
FROM staged_records r JOIN fresh_parts p USING (seq) JOIN staged_keys k USING (key);
DELETE FROM staged_events; DELETE FROM staged_parts; DELETE FROM staged_records;
SELECT count(*) AS n FROM fresh;
`

/** `[sum(column[1]), …, sum(column[n])]` (DuckDB lists are 1-based). */
function sumList (column: string, length: number): string {
  return `[${Array.from({ length }, (_, i) => `sum(${column}[${i + 1}])::BIGINT`).join(', ')}]`
}

/** `[a[1] - coalesce(b[1], 0), …]`: a cumulative histogram minus the previous one (none before an instance's first report). */
function deltaList (current: string, previous: string, length: number): string {
  return `[${Array.from({ length }, (_, i) => `coalesce(${current}[${i + 1}], 0) - coalesce(${previous}[${i + 1}], 0)`).join(', ')}]`
}

/** Per-key status counts, summed over the rows of each group of `by`, as a MAP. */
function statusSums (from: string, by: string): string {
  return `SELECT ${by}, map_from_entries(list({'key': code, 'value': n} ORDER BY code)) AS status,
    coalesce(sum(n) FILTER (WHERE code LIKE '5__'), 0)::BIGINT AS errors_5xx
  FROM (SELECT ${by}, s.key AS code, sum(s.value)::BIGINT AS n FROM ${from}, unnest(map_entries(status)) AS t(s) GROUP BY ALL)
  GROUP BY ALL`
}

const EMPTY_STATUS = 'MAP {}::MAP(VARCHAR, BIGINT)'

const inSet = (column: string, set: string): string => `${column} IN (SELECT ${column.replace(/^\w+\./, '')} FROM ${set})`
/** Rows of `table` whose (…columns) group is in `set` (anonymous_id may be NULL: compared as not distinct). */
const inGroups = (alias: string, set: string, columns: string[]): string =>
  `EXISTS (SELECT 1 FROM ${set} g WHERE ${columns.map(c => `g.${c} IS NOT DISTINCT FROM ${alias}.${c}`).join(' AND ')})`

const DAILY = ['day', 'version', 'endpoint', 'method']
const PER_INSTALLATION = ['anonymous_id', 'version', 'endpoint', 'method']

// `uptime` is in whole seconds, so two reports of an instance can share it (short intervals, the final report on
// close); the record's own cumulative counts, which never decrease within an instance, order them then.
const ORDER = 'ORDER BY r.uptime, coalesce(c.requests, 0) + coalesce(c.responses, 0) + coalesce(c.aborted, 0), r.received_at, r.report_id, c.part'
const delta = (column: string): string => `coalesce(c.${column}, 0) - coalesce(p.${column}, 0)`

/**
 * Brings every derived table up to date with the events that arrived since the last update (ingest_dirty), and
 * recomputes only what they can change: the installations and instances they belong to and those instances'
 * activity; the reports that got a part (all reports of an instance whose version changed); for each instance
 * with such a report, its traffic from the earliest such report on (a late part or a filled gap changes the later
 * deltas of that instance only); then the daily and per-installation roll-up groups that any deleted or inserted
 * traffic row belongs to. Each step is the query a rebuild from scratch runs, restricted to those keys, so ingesting
 * in several runs yields the same tables as one run.
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
-- Where each instance's traffic must be recomputed from: the lowest uptime of a report replaced, before or after.
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
-- The reports whose traffic rows are replaced: those gone or changed, and every later one of the same instance.
CREATE OR REPLACE TEMP TABLE d_redo AS
SELECT report_id FROM d_rep
UNION
SELECT r.report_id FROM reports r JOIN d_start s ON r.instance_id = s.instance_id AND r.uptime >= s.uptime;

CREATE OR REPLACE TEMP TABLE d_groups AS
SELECT DISTINCT day, anonymous_id, version, endpoint, method FROM traffic WHERE ${inSet('report_id', 'd_redo')};
DELETE FROM traffic WHERE ${inSet('report_id', 'd_redo')};
-- Each record's predecessor (the same endpoint and method in the previous complete report of the instance, by
-- uptime) is found over narrow columns; only the records to redo and their predecessors are then read in full, from
-- a table of their own: joined with the whole of records, the wide counters of every record ever stored would be
-- hashed.
CREATE OR REPLACE TEMP TABLE d_chain AS
SELECT * FROM (
  SELECT r.report_id, c.part, c.endpoint, c.method, r.uptime >= s.uptime AS redo,
    lag(r.report_id) OVER w AS p_report, lag(c.part) OVER w AS p_part
  FROM reports r JOIN d_start s USING (instance_id) JOIN records c USING (report_id)
  WINDOW w AS (PARTITION BY r.instance_id, c.endpoint, c.method ${ORDER}))
WHERE redo;
CREATE OR REPLACE TEMP TABLE d_records AS
SELECT * FROM records WHERE report_id IN (SELECT report_id FROM d_chain UNION SELECT p_report FROM d_chain);
INSERT INTO traffic
WITH pairs AS (
  SELECT r.day, r.anonymous_id, r.instance_id, r.version, r.report_id, c.endpoint, c.method,
    ${['requests', 'responses', 'aborted'].map(x => `${delta(x)} AS ${x}`).join(', ')},
    map_from_entries(list_filter(list_transform(map_entries(coalesce(c.status, ${EMPTY_STATUS})),
      lambda s: {'key': s.key, 'value': s.value - coalesce(p.status[s.key], 0)}), lambda s: s.value <> 0)) AS status,
    ${deltaList('c.latency_buckets', 'p.latency_buckets', LATENCY_BUCKETS)} AS latency_buckets,
    ${delta('latency_sum')} AS latency_sum,
    ${deltaList('c.size_buckets', 'p.size_buckets', SIZE_BUCKETS)} AS size_buckets,
    ${delta('size_unknown')} AS size_unknown, ${delta('size_sum')} AS size_sum
  FROM d_chain k JOIN reports r USING (report_id)
  JOIN d_records c ON c.report_id = k.report_id AND c.part = k.part AND c.endpoint = k.endpoint AND c.method = k.method
  LEFT JOIN d_records p ON p.report_id = k.p_report AND p.part = k.p_part AND p.endpoint = k.endpoint AND p.method = k.method)
SELECT * FROM pairs WHERE requests <> 0 OR responses <> 0 OR aborted <> 0;
INSERT INTO d_groups
SELECT DISTINCT day, anonymous_id, version, endpoint, method FROM traffic WHERE ${inSet('report_id', 'd_redo')};

CREATE OR REPLACE TEMP TABLE d_daily AS SELECT DISTINCT ${DAILY.join(', ')} FROM d_groups;
DELETE FROM daily_traffic t WHERE ${inGroups('t', 'd_daily', DAILY)};
INSERT INTO daily_traffic
WITH src AS (SELECT * FROM traffic t WHERE ${inGroups('t', 'd_daily', DAILY)}),
sums AS (
  SELECT day, version, endpoint, method, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_BUCKETS)} AS latency_buckets, sum(latency_sum) AS latency_sum,
    ${sumList('size_buckets', SIZE_BUCKETS)} AS size_buckets, sum(size_unknown)::BIGINT AS size_unknown
  FROM src GROUP BY ALL),
codes AS (${statusSums('src', DAILY.join(', '))})
SELECT day, version, endpoint, method, installations, instances, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, latency_sum, size_buckets, size_unknown
FROM sums LEFT JOIN codes USING (day, version, endpoint, method);

CREATE OR REPLACE TEMP TABLE d_installation AS SELECT DISTINCT ${PER_INSTALLATION.join(', ')} FROM d_groups;
DELETE FROM installation_traffic t WHERE ${inGroups('t', 'd_installation', PER_INSTALLATION)};
INSERT INTO installation_traffic
WITH src AS (SELECT * FROM traffic t WHERE ${inGroups('t', 'd_installation', PER_INSTALLATION)}),
sums AS (
  SELECT anonymous_id, version, endpoint, method, min(day) AS first_day, max(day) AS last_day,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_BUCKETS)} AS latency_buckets, ${sumList('size_buckets', SIZE_BUCKETS)} AS size_buckets
  FROM src GROUP BY ALL),
codes AS (${statusSums('src', PER_INSTALLATION.join(', '))})
SELECT s.anonymous_id, s.version, s.endpoint, s.method, first_day, last_day, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, size_buckets, coalesce(codes.errors_5xx, 0) AS errors_5xx
FROM sums s LEFT JOIN codes ON codes.anonymous_id IS NOT DISTINCT FROM s.anonymous_id AND codes.version = s.version
  AND codes.endpoint = s.endpoint AND codes.method = s.method;

DELETE FROM ingest_dirty;
`

/** The roll-up tables `export --parquet` writes. */
export const ROLLUPS = ['daily_traffic', 'installation_traffic', 'memory_by_version', 'activity', 'installations'] as const

export function copyToParquet (table: string, file: string): string {
  return `COPY (SELECT * FROM ${table}) TO ${literal(file)} (FORMAT parquet)`
}

export function upsertFile (file: string, sourceId: string, receivedDay: number, offset: number, size: number): string {
  return `INSERT OR REPLACE INTO ingest_files VALUES (${literal(file)}, ${literal(sourceId)}, ${receivedDay}, ${offset}, ${size}, now()::TIMESTAMP)`
}
