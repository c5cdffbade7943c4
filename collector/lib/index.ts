import { plugin } from './plugin'

export default plugin
export { plugin as telemetryCollector, requestWithoutAddress, type TelemetryCollector } from './plugin'
export type { CollectorOptions, WriteKey } from './options'
export { defaultSourceId } from './options'
export type { CollectorCounts } from './counts'
export type { UnknownKeyCounts } from './unknown-keys'
export { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits'
export {
  FST_TELEMETRY_COLLECTOR_BAD_BODY, FST_TELEMETRY_COLLECTOR_INVALID_EVENT, FST_TELEMETRY_COLLECTOR_INVALID_OPTION,
  FST_TELEMETRY_COLLECTOR_NOT_STORED, FST_TELEMETRY_COLLECTOR_OVER_LIMIT, FST_TELEMETRY_COLLECTOR_UNAUTHORIZED
} from './errors'
export { listFiles, readEvents, readMembers, type Member, type StoredFile, type TornMember } from './reader'
