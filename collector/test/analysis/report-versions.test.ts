import { test } from 'tap'
import { orderVersions } from '../../lib/analysis/report/versions'

const order = (...versions: Array<[string, string?]>): string[] =>
  orderVersions(versions.map(([version, firstDay = '2026-01-01']) => ({ version, firstDay }))).map(v => v.version)

test('versions that parse as semver are ordered by semver, not as strings', async t => {
  t.same(order(['1.10.0'], ['1.9.0'], ['1.2.3'], ['2.0.0'], ['v1.9.1']), ['1.2.3', '1.9.0', 'v1.9.1', '1.10.0', '2.0.0'])
})

test('a pre-release sorts before its release, by semver 2.0 precedence', async t => {
  t.same(order(['1.0.0'], ['1.0.0-rc.1'], ['1.0.0-beta.11'], ['1.0.0-beta.2'], ['1.0.0-beta'], ['1.0.0-alpha.beta'], ['1.0.0-alpha'], ['1.0.0-alpha.1']),
    ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'])
})

test('numeric pre-release identifiers sort before alphanumeric ones and compare as numbers', async t => {
  t.same(order(['1.0.0-alpha'], ['1.0.0-1'], ['1.0.0-1.b'], ['1.0.0-1.a'], ['1.0.0-10'], ['1.0.0-2']), ['1.0.0-1', '1.0.0-1.a', '1.0.0-1.b', '1.0.0-2', '1.0.0-10', '1.0.0-alpha'])
  t.same(order(['1.0.0-1'], ['1.0.0-alpha']), ['1.0.0-1', '1.0.0-alpha'])
  t.same(order(['1.0.0-b'], ['1.0.0-a']), ['1.0.0-a', '1.0.0-b'])
  t.same(order(['1.0.0-a'], ['1.0.0-b']), ['1.0.0-a', '1.0.0-b'])
})

test('build metadata does not order; equal semver falls back to first appearance', async t => {
  t.same(order(['1.0.0+b', '2026-01-02'], ['1.0.0+a', '2026-01-03'], ['1.0.0', '2026-01-01']), ['1.0.0', '1.0.0+b', '1.0.0+a'])
})

test('versions that do not parse are older than every semver one, in order of first appearance', async t => {
  t.same(order(['1.0.0', '2026-01-01'], ['nightly', '2026-01-05'], ['unknown', '2026-01-02'], ['abc123', '2026-01-02']),
    ['abc123', 'unknown', 'nightly', '1.0.0'])
  t.same(order(['nightly'], ['1.0.0']), ['nightly', '1.0.0'])
  t.same(order(['1.0.0'], ['nightly']), ['nightly', '1.0.0'])
})
