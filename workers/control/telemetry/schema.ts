/**
 * The Telemetry objects' SQLite tables: 10 s windows and cumulative totals of metric series (a
 * destination service's object), spans (the "traces" object). Created on first use.
 */
export const TELEMETRY_SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  window INTEGER NOT NULL, reporter TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL, version TEXT NOT NULL,
  route TEXT NOT NULL, code INTEGER NOT NULL, count INTEGER NOT NULL, sum_ms REAL NOT NULL, buckets TEXT NOT NULL,
  retries INTEGER NOT NULL, flags TEXT NOT NULL,
  PRIMARY KEY (window, reporter, source, destination, version, route, code));
CREATE TABLE IF NOT EXISTS totals (
  reporter TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL, version TEXT NOT NULL, route TEXT NOT NULL, code INTEGER NOT NULL,
  count INTEGER NOT NULL, sum_ms REAL NOT NULL, buckets TEXT NOT NULL, retries INTEGER NOT NULL, flags TEXT NOT NULL,
  PRIMARY KEY (reporter, source, destination, version, route, code));
CREATE TABLE IF NOT EXISTS spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, at INTEGER NOT NULL, span TEXT NOT NULL, PRIMARY KEY (trace_id, span_id));
CREATE INDEX IF NOT EXISTS spans_at ON spans (at);`;
