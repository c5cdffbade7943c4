import type { Test } from 'tap'

/** The environment variables the plugin reads. */
export const ENV_SWITCHES = ['DISABLE_TELEMETRY', 'DO_NOT_TRACK', 'TELEMETRY_DRY_RUN'] as const

type EnvValues = Partial<Record<typeof ENV_SWITCHES[number], string>>

function apply (values: EnvValues): void {
  for (const name of ENV_SWITCHES) {
    const value = values[name]
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
}

/**
 * Sets the switches for the life of `t` (the root `t` for a whole file) and restores them at its teardown, or
 * earlier through the returned function. Switches not named are cleared meanwhile: a developer's shell with
 * `DO_NOT_TRACK=1` must not change what a test sees.
 */
export function useEnv (t: Test, values: EnvValues = {}): () => void {
  const saved: EnvValues = Object.fromEntries(ENV_SWITCHES.map(name => [name, process.env[name]]))
  const restore = (): void => apply(saved)
  t.teardown(restore)
  apply(values)
  return restore
}
