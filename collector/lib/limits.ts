/** Segment's HTTP API limits, which the collector enforces the same way (stricter only in answering 400). */
export const MAX_EVENT_BYTES = 32 * 1024
export const MAX_BATCH_BYTES = 500 * 1024
export const MAX_BATCH_EVENTS = 2500
