/** One-sided level of the 5xx-rate test: a regression is marked only when z exceeds the 99th normal quantile. */
export const ERROR_RATE_ALPHA = 0.01
export const ERROR_RATE_Z = 2.326

/**
 * Two-proportion z-test (pooled), one-sided: is the latest version's 5xx rate (errors / responses) higher than
 * the previous version's at level α = 0.01? No test (false) when either side has no responses or the pooled
 * rate is 0 or 1 (both rates are then equal).
 */
export function errorRateRegressed (latestErrors: number, latestResponses: number, previousErrors: number, previousResponses: number): boolean {
  if (latestResponses === 0 || previousResponses === 0) return false
  const pooled = (latestErrors + previousErrors) / (latestResponses + previousResponses)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / latestResponses + 1 / previousResponses))
  if (se === 0) return false
  return (latestErrors / latestResponses - previousErrors / previousResponses) / se > ERROR_RATE_Z
}
