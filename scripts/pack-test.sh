#!/usr/bin/env bash
# `npm run test:pack`: the package as a user gets it. Packs the built package, checks what the tarball holds,
# installs it into a fresh project outside this repository and uses it from CommonJS, ESM and TypeScript.
# Needs `npm run build` first (the npm script does it). Dependencies come from the npm cache when they are there
# (`--prefer-offline`), else from the registry: nothing but the npm registry is ever contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
checks=0
ok () { checks=$((checks + 1)); echo "ok $checks - $1"; }
fail () { echo "not ok - $1" >&2; exit 1; }

# --- the tarball -------------------------------------------------------------------------------------------------
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$tarball" | sed 's#^package/##' | sort > "$work/contents"
unexpected="$(grep -vE '^(package\.json|README\.md|LICENSE|dist/[a-z-]+\.(js|d\.ts)|dist/index\.d\.mts|dist/index\.mjs|schema/[a-z-]+\.json)$' "$work/contents" || true)"
[ -z "$unexpected" ] || fail "the tarball holds files users do not need: $unexpected"
for file in package.json README.md LICENSE dist/index.js dist/index.mjs dist/index.d.ts dist/index.d.mts \
  schema/identify.json schema/telemetry.json schema/keep-alive.json; do
  grep -qx "$file" "$work/contents" || fail "the tarball lacks $file"
done
ok "the tarball holds dist (JavaScript and declarations), the schemas, README, LICENSE and nothing else ($(wc -l < "$work/contents") files)"

# The collector workspace (collector/) is a package of its own: nothing of it ships in the plugin, and the
# plugin's runtime dependencies stay the four it has always had (none of the collector's: fastify, ajv, DuckDB...).
if grep -q '^collector' "$work/contents"; then fail "the tarball holds files of collector/"; fi
tar -xzOf "$tarball" package/package.json > "$work/packed.json"
deps="$(node -p "Object.keys(require('$work/packed.json').dependencies ?? {}).sort().join(' ')")"
[ "$deps" = "@fastify/error @segment/analytics-node fastify-plugin undici" ] || fail "the plugin's dependencies changed: $deps"
node -e "const p = require('$work/packed.json'); if (p.bin || p.optionalDependencies || p.bundleDependencies) process.exit(1)" \
  || fail "the packed package.json declares a bin or extra dependencies"
ok "nothing of collector/ is in the tarball and the plugin's dependencies are unchanged ($deps)"

# --- a fresh project ---------------------------------------------------------------------------------------------
# The versions this repository is tested with, so that the npm cache has them.
version () { node -p "require('$repo/node_modules/$1/package.json').version"; }
app="$work/consumer"
mkdir "$app"
cd "$app"
echo '{ "name": "consumer", "private": true }' > package.json
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" \
  "fastify@$(version fastify)" "typescript@$(version typescript)" "@types/node@$(version @types/node)" > "$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "npm install of the tarball"; }
ok "the tarball installs into a fresh project with fastify $(version fastify)"

# --- CommonJS ----------------------------------------------------------------------------------------------------
cat > cjs.cjs <<'EOF'
const assert = require('node:assert')
const Fastify = require('fastify')
const telemetry = require('fastify-anonymous-telemetry')
const schema = require('fastify-anonymous-telemetry/schema/telemetry.json')
assert.equal(typeof telemetry, 'function')
assert.equal(telemetry.fastifyTelemetry, telemetry)
assert.equal(telemetry.LATENCY_BOUNDS_MS.length + 1, schema.$defs.latencyHistogram.properties.buckets.minItems)
assert.throws(() => require('fastify-anonymous-telemetry/dist/plugin.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
const app = Fastify()
app.register(telemetry, { dryRun: true, issuerUrl: 'https://consumer.example.com/' })
app.ready().then(async () => {
  assert.equal(app.telemetry.enabled, true)
  assert.match(app.telemetry.clusterId, /^[0-9a-f]{128}$/)
  await app.close()
})
EOF
node cjs.cjs || fail "CommonJS: require('fastify-anonymous-telemetry')"
ok "CommonJS: require() gives the plugin, its constants and the schemas; internals are not exported"

# --- ESM ---------------------------------------------------------------------------------------------------------
cat > esm.mjs <<'EOF'
import assert from 'node:assert'
import Fastify from 'fastify'
import telemetry, { fastifyTelemetry, SCHEMA_VERSION } from 'fastify-anonymous-telemetry'
import schema from 'fastify-anonymous-telemetry/schema/identify.json' with { type: 'json' }
assert.equal(typeof telemetry, 'function')
assert.equal(fastifyTelemetry, telemetry)
assert.equal(schema.properties.traits.properties.schemaVersion.const, SCHEMA_VERSION)
const app = Fastify()
await app.register(telemetry, { dryRun: true, issuerUrl: 'https://consumer.example.com/' })
await app.ready()
assert.equal(app.telemetry.dryRun, true)
await app.close()
EOF
node --disable-warning=ExperimentalWarning esm.mjs || fail "ESM: import telemetry from 'fastify-anonymous-telemetry'"
ok "ESM: the default import is the plugin, named exports and the schemas import too"

# --- TypeScript --------------------------------------------------------------------------------------------------
cat > tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "module": "node16",
    "moduleResolution": "node16",
    "target": "ES2022",
    "strict": true,
    "esModuleInterop": true,
    "noEmit": true,
    "types": ["node"]
  },
  "include": ["*.mts", "*.cts"]
}
EOF
# A right use and a wrong one, each from an ES module and from a CommonJS module.
cat > right.mts <<'EOF'
import Fastify from 'fastify'
import telemetry, { type TelemetryOptions, type TelemetrySnapshot } from 'fastify-anonymous-telemetry'
const options: TelemetryOptions = { writeKey: 'key', issuerUrl: 'https://consumer.example.com/', endpoints: ['/clients'], reportInterval: 60_000 }
const app = Fastify()
await app.register(telemetry, options)
app.get('/private', { config: { telemetry: false } }, async () => 'not counted')
const snapshot: TelemetrySnapshot | null = app.telemetry.snapshot()
console.log(snapshot?.paths, app.telemetry.clusterId)
EOF
cat > right.cts <<'EOF'
import Fastify from 'fastify'
import telemetry, { fastifyTelemetry, LATENCY_BOUNDS_MS } from 'fastify-anonymous-telemetry'
const app = Fastify()
app.register(telemetry, { dryRun: true, issuerUrl: 'https://consumer.example.com/', health: { metrics: true } })
app.register(fastifyTelemetry, { enabled: false })
const bounds: readonly number[] = LATENCY_BOUNDS_MS
console.log(bounds, app.telemetry.endpoints)
EOF
mkdir wrong
cat > wrong/wrong.mts <<'EOF'
import Fastify from 'fastify'
import telemetry from 'fastify-anonymous-telemetry'
await Fastify().register(telemetry, { issuerUrl: 'https://consumer.example.com/', reportInterval: '15m' })
EOF
cat > wrong/wrong.cts <<'EOF'
import Fastify from 'fastify'
import telemetry from 'fastify-anonymous-telemetry'
Fastify().register(telemetry, { issuerUrl: 'https://consumer.example.com/', reportIntervall: 60_000 })
EOF
tsc () { "$app/node_modules/.bin/tsc" -p tsconfig.json > "$work/tsc.log" 2>&1; }
# tsconfig.json checks every .mts/.cts in the project root, where no wrong use is yet.
tsc || { cat "$work/tsc.log" >&2; fail "tsc on the right uses"; }
for file in wrong.mts wrong.cts; do
  cp "wrong/$file" .
  if tsc; then fail "tsc accepted the wrong option in $file"; fi
  # Line 3 holds the wrong option; an error anywhere else would prove nothing.
  grep -q "^$file(3,[0-9]*): error TS" "$work/tsc.log" || { cat "$work/tsc.log" >&2; fail "tsc failed, but not on the wrong option in $file"; }
  rm "$file"
done
ok "TypeScript: tsc --noEmit passes right uses (ESM and CommonJS) and fails a wrong option type and a misspelt option"

echo "pack test: $checks checks passed"
