// The fleet model in SQL: what ingest stores (events, report parts, per-method records, file offsets) and the
// tables rebuilt from them after each ingest. Column names are the contract documented in the README ("Tables").

export const LATENCY_BUCKETS = 14
export const SIZE_BUCKETS = 10

const METRICS = 'STRUCT(requests BIGINT, responses BIGINT, aborted BIGINT, latency STRUCT(sum DOUBLE, buckets BIGINT[]), ' +
  'size STRUCT(sum DOUBLE, unknown BIGINT, buckets BIGINT[]), status MAP(VARCHAR, BIGINT))'
/** Explicit types for the records of a report (v1 and v2 alike): endpoint -> method -> metrics record. */
const PATHS = JSON.stringify({ paths: `MAP(VARCHAR, STRUCT(methods MAP(VARCHAR, ${METRICS})))` })

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
  status MAP(VARCHAR, BIGINT), latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[], size_unknown BIGINT,
  size_sum DOUBLE);
CREATE TABLE IF NOT EXISTS ingest_files (
  file VARCHAR PRIMARY KEY, source_id VARCHAR, received_day BIGINT, "offset" BIGINT, size BIGINT, ingested_at TIMESTAMP);
`

/** Columns read from each staged line `{"s": sourceId, "d": receivedDay, "e": <stored event>}`; nothing else (a write key) is read. */
const STAGED_COLUMNS = '{s: \'VARCHAR\', d: \'BIGINT\', e: \'STRUCT(type VARCHAR, event VARCHAR, messageId VARCHAR, anonymousId VARCHAR, receivedAt VARCHAR, properties JSON, traits JSON)\'}'

function literal (text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** Loads one staged NDJSON file: new events (by messageId), new report parts (by reportId and part), their records. */
export function loadStaged (file: string): string {
  return `
CREATE OR REPLACE TEMP TABLE staged AS
SELECT * FROM (
  SELECT e.messageId AS message_id, s AS source_id,
    CASE e.type WHEN 'identify' THEN 'identify' WHEN 'track' THEN e.event ELSE e.type END AS kind,
    e.anonymousId AS anonymous_id,
    coalesce(try_cast(e.receivedAt AS TIMESTAMP), make_timestamp(d * 1000)) AS received_at,
    CASE e.type WHEN 'identify' THEN e.traits ELSE e.properties END AS properties
  FROM read_json(${literal(file)}, format = 'newline_delimited', columns = ${STAGED_COLUMNS})
) QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY received_at) = 1;
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT message_id, source_id, kind, anonymous_id, properties->>'instanceId' AS instance_id,
  try_cast(properties->>'schemaVersion' AS INTEGER) AS schema_version, received_at, CAST(received_at AS DATE) AS day, properties
FROM staged ANTI JOIN events USING (message_id);
INSERT INTO events SELECT * FROM fresh;
CREATE OR REPLACE TEMP TABLE fresh_parts AS
SELECT * FROM (
  SELECT properties->>'reportId' AS report_id, try_cast(properties->>'part' AS INTEGER) AS part,
    try_cast(properties->>'parts' AS INTEGER) AS parts, instance_id, anonymous_id, schema_version,
    try_cast(properties->>'uptime' AS BIGINT) AS uptime, received_at,
    try_cast(properties->'memory'->>'rss' AS BIGINT) AS rss, try_cast(properties->'memory'->>'heapUsed' AS BIGINT) AS heap_used,
    properties
  FROM fresh WHERE kind = 'telemetry'
) WHERE report_id IS NOT NULL AND part IS NOT NULL AND parts IS NOT NULL AND instance_id IS NOT NULL AND uptime IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY report_id, part ORDER BY received_at) = 1;
DELETE FROM fresh_parts f USING parts p WHERE f.report_id = p.report_id AND f.part = p.part;
INSERT INTO parts SELECT * EXCLUDE (properties) FROM fresh_parts;
INSERT INTO records
SELECT report_id, part, p.key, m.key, m.value.requests, m.value.responses, m.value.aborted, m.value.status,
  m.value.latency.buckets, m.value.latency.sum, m.value.size.buckets, m.value.size.unknown, m.value.size.sum
FROM (SELECT report_id, part, from_json(properties, ${literal(PATHS)}) AS j FROM fresh_parts),
  unnest(map_entries(j.paths)) AS t(p), unnest(map_entries(p.value.methods)) AS u(m);
DROP TABLE staged; DROP TABLE fresh; DROP TABLE fresh_parts;
`
}

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

/** Rebuilds every derived table from events, parts and records. */
export const REBUILD = `
CREATE OR REPLACE TABLE installations AS
SELECT anonymous_id, min(day) AS first_day, max(day) AS last_day FROM events WHERE anonymous_id IS NOT NULL GROUP BY anonymous_id;

CREATE OR REPLACE TABLE instances AS
WITH seen AS (
  SELECT instance_id, arg_min(anonymous_id, received_at) AS anonymous_id, min(day) AS first_day, max(day) AS last_day
  FROM events WHERE instance_id IS NOT NULL GROUP BY instance_id),
traits AS (
  SELECT instance_id, arg_max(properties, received_at) AS t FROM events WHERE kind = 'identify' AND instance_id IS NOT NULL GROUP BY instance_id)
SELECT instance_id, anonymous_id, coalesce(t->>'version', 'unknown') AS version, t->>'hash' AS hash, t->>'os' AS os,
  t->>'arch' AS arch, try_cast(t->>'numCpu' AS INTEGER) AS num_cpu, t->>'runtimeVersion' AS runtime_version, first_day, last_day
FROM seen LEFT JOIN traits USING (instance_id);

CREATE OR REPLACE TABLE activity AS
SELECT DISTINCT e.day, e.anonymous_id, e.instance_id, coalesce(i.version, 'unknown') AS version
FROM events e LEFT JOIN instances i USING (instance_id) WHERE e.anonymous_id IS NOT NULL;

CREATE OR REPLACE TABLE reports AS
WITH r AS (
  SELECT report_id, any_value(instance_id) AS instance_id, any_value(anonymous_id) AS anonymous_id, max(uptime) AS uptime,
    max(received_at) AS received_at, max(parts) AS parts, min(parts) AS min_parts, count(*) AS arrived, max(part) AS last_part,
    max(rss) FILTER (WHERE part = 1) AS rss, max(heap_used) FILTER (WHERE part = 1) AS heap_used
  FROM parts GROUP BY report_id)
SELECT r.report_id, r.instance_id, r.anonymous_id, coalesce(i.version, 'unknown') AS version, r.uptime, r.received_at,
  CAST(r.received_at AS DATE) AS day, r.parts, r.rss, r.heap_used
FROM r LEFT JOIN instances i USING (instance_id)
WHERE r.arrived = r.parts AND r.min_parts = r.parts AND r.last_part = r.parts;

CREATE OR REPLACE TABLE traffic AS
WITH cumulative AS (
  SELECT r.day, r.anonymous_id, r.instance_id, r.version, r.report_id, c.endpoint, c.method,
    c.requests, c.responses, c.aborted, c.status, c.latency_buckets, c.latency_sum, c.size_buckets, c.size_unknown, c.size_sum,
    lag(c.requests, 1, 0) OVER w AS p_requests, lag(c.responses, 1, 0) OVER w AS p_responses, lag(c.aborted, 1, 0) OVER w AS p_aborted,
    lag(c.status) OVER w AS p_status, lag(c.latency_buckets) OVER w AS p_latency, lag(c.latency_sum, 1, 0) OVER w AS p_latency_sum,
    lag(c.size_buckets) OVER w AS p_size, lag(c.size_unknown, 1, 0) OVER w AS p_size_unknown, lag(c.size_sum, 1, 0) OVER w AS p_size_sum
  FROM reports r JOIN records c USING (report_id)
  WINDOW w AS (PARTITION BY r.instance_id, c.endpoint, c.method ORDER BY r.uptime, r.received_at, r.report_id))
SELECT day, anonymous_id, instance_id, version, report_id, endpoint, method,
  coalesce(requests, 0) - p_requests AS requests, coalesce(responses, 0) - p_responses AS responses,
  coalesce(aborted, 0) - p_aborted AS aborted,
  map_from_entries(list_filter(list_transform(map_entries(coalesce(status, ${EMPTY_STATUS})),
    lambda s: {'key': s.key, 'value': s.value - coalesce(p_status[s.key], 0)}), lambda s: s.value <> 0)) AS status,
  ${deltaList('latency_buckets', 'p_latency', LATENCY_BUCKETS)} AS latency_buckets,
  coalesce(latency_sum, 0) - p_latency_sum AS latency_sum,
  ${deltaList('size_buckets', 'p_size', SIZE_BUCKETS)} AS size_buckets,
  coalesce(size_unknown, 0) - p_size_unknown AS size_unknown, coalesce(size_sum, 0) - p_size_sum AS size_sum
FROM cumulative
WHERE coalesce(requests, 0) <> p_requests OR coalesce(responses, 0) <> p_responses OR coalesce(aborted, 0) <> p_aborted;

CREATE OR REPLACE TABLE daily_traffic AS
WITH sums AS (
  SELECT day, version, endpoint, method, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_BUCKETS)} AS latency_buckets, sum(latency_sum) AS latency_sum,
    ${sumList('size_buckets', SIZE_BUCKETS)} AS size_buckets, sum(size_unknown)::BIGINT AS size_unknown
  FROM traffic GROUP BY ALL),
codes AS (${statusSums('traffic', 'day, version, endpoint, method')})
SELECT day, version, endpoint, method, installations, instances, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, latency_sum, size_buckets, size_unknown
FROM sums LEFT JOIN codes USING (day, version, endpoint, method);

CREATE OR REPLACE TABLE installation_traffic AS
WITH sums AS (
  SELECT anonymous_id, version, endpoint, method, min(day) AS first_day, max(day) AS last_day,
    sum(requests)::BIGINT AS requests, sum(responses)::BIGINT AS responses, sum(aborted)::BIGINT AS aborted,
    ${sumList('latency_buckets', LATENCY_BUCKETS)} AS latency_buckets, ${sumList('size_buckets', SIZE_BUCKETS)} AS size_buckets
  FROM traffic GROUP BY ALL),
codes AS (${statusSums('traffic', 'anonymous_id, version, endpoint, method')})
SELECT anonymous_id, version, endpoint, method, first_day, last_day, requests, responses, aborted,
  coalesce(codes.status, ${EMPTY_STATUS}) AS status, latency_buckets, size_buckets, coalesce(codes.errors_5xx, 0) AS errors_5xx
FROM sums LEFT JOIN codes USING (anonymous_id, version, endpoint, method);

CREATE OR REPLACE VIEW memory_by_version AS
SELECT day, version, anonymous_id, rss, heap_used FROM reports WHERE rss IS NOT NULL OR heap_used IS NOT NULL;
`

/** The roll-up tables `export --parquet` writes. */
export const ROLLUPS = ['daily_traffic', 'installation_traffic', 'memory_by_version', 'activity', 'installations'] as const

export function copyToParquet (table: string, file: string): string {
  return `COPY (SELECT * FROM ${table}) TO ${literal(file)} (FORMAT parquet)`
}

export function upsertFile (file: string, sourceId: string, receivedDay: number, offset: number, size: number): string {
  return `INSERT OR REPLACE INTO ingest_files VALUES (${literal(file)}, ${literal(sourceId)}, ${receivedDay}, ${offset}, ${size}, now()::TIMESTAMP)`
}
