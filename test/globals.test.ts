import { test, type Test } from 'tap'
import { keepingGlobals } from '../lib/globals'

// `keepingGlobals` wraps the first load of the Segment SDK, whose tslib writes its helpers over the host's. Here each
// case plays the host with a global of its own, under a name no other code uses.

const globals = globalThis as unknown as Record<string, unknown>

/** A global of the host's, removed when `t` ends; returns its name. */
function hostGlobal (t: Test, descriptor: PropertyDescriptor): string {
  const name = `__hostGlobal${Math.random().toString(36).slice(2)}`
  Object.defineProperty(globalThis, name, { configurable: true, ...descriptor })
  t.teardown(() => Reflect.deleteProperty(globalThis, name))
  return name
}

test('a global the host had, overwritten during the load, is put back with its descriptor', async t => {
  const hostHelper = function hostExtends (): void {}
  const name = hostGlobal(t, { value: hostHelper, writable: true, enumerable: false })
  const before = Object.getOwnPropertyDescriptor(globalThis, name)
  const loaded = keepingGlobals(() => {
    globals[name] = function tslibExtends (): void {}
    Object.defineProperty(globalThis, name, { enumerable: true })
    return 'the module'
  })
  t.equal(loaded, 'the module', 'the load\'s result is returned')
  t.strictSame(Object.getOwnPropertyDescriptor(globalThis, name), before, 'the host\'s value, writable and not enumerable')
  t.equal(globals[name], hostHelper)
})

test('a getter the host had, replaced by a value during the load, is a getter again', async t => {
  const get = (): string => 'from the host\'s getter'
  const name = hostGlobal(t, { get, enumerable: true })
  keepingGlobals(() => Object.defineProperty(globalThis, name, { value: 'replaced', writable: true }))
  t.equal(Object.getOwnPropertyDescriptor(globalThis, name)?.get, get)
  t.equal(globals[name], 'from the host\'s getter')
})

test('a global the host had, deleted during the load, comes back', async t => {
  const name = hostGlobal(t, { value: 42, writable: true })
  keepingGlobals(() => Reflect.deleteProperty(globalThis, name))
  t.equal(globals[name], 42)
})

test('a global the load added is removed', async t => {
  const name = `__loadGlobal${Math.random().toString(36).slice(2)}`
  t.teardown(() => Reflect.deleteProperty(globalThis, name))
  keepingGlobals(() => { globals[name] = 'tslib helper' })
  t.notOk(Reflect.has(globalThis, name))
})

test('a load that throws still leaves globalThis as it found it, and the error goes to the caller', async t => {
  const name = hostGlobal(t, { value: 'host', writable: true })
  t.throws(() => keepingGlobals(() => {
    globals[name] = 'half-loaded'
    throw new Error('load failed')
  }), { message: 'load failed' })
  t.equal(globals[name], 'host')
})
