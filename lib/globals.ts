/**
 * Runs `load`, then puts `globalThis` back exactly as it was: every own property name and symbol, with its
 * descriptor. tslib, which the Segment SDK pulls in as CommonJS, writes its ~32 helpers (`__extends`, `__awaiter`,
 * ...) onto `globalThis`, over any the host had; the SDK keeps its own references to them, so it works without.
 */
export function keepingGlobals<T> (load: () => T): T {
  const before = new Map(Reflect.ownKeys(globalThis).map(key => [key, Reflect.getOwnPropertyDescriptor(globalThis, key)]))
  try {
    return load()
  } finally {
    for (const key of Reflect.ownKeys(globalThis)) {
      if (!before.has(key)) Reflect.deleteProperty(globalThis, key)
    }
    for (const [key, descriptor] of before) {
      if (!sameDescriptor(Reflect.getOwnPropertyDescriptor(globalThis, key), descriptor)) {
        Reflect.defineProperty(globalThis, key, descriptor as PropertyDescriptor)
      }
    }
  }
}

function sameDescriptor (a: PropertyDescriptor | undefined, b: PropertyDescriptor | undefined): boolean {
  return a !== undefined && b !== undefined &&
    Object.is(a.value, b.value) && a.get === b.get && a.set === b.set &&
    a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable
}
