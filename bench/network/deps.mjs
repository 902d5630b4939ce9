// Loads the js-libp2p packages pinned by tests/interop/package-lock.json from
// tests/interop/node_modules, so the benchmark needs no second install.
// ES modules ignore NODE_PATH, so each package entry is resolved here from
// its package.json "exports" and imported by file URL.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

export const INTEROP_MODULES = resolve(import.meta.dirname, '../../tests/interop/node_modules')

function entryOf (exp) {
  if (typeof exp === 'string') return exp
  if (exp == null) return undefined
  return entryOf(exp.node) ?? entryOf(exp.import) ?? entryOf(exp.default)
}

// load('@libp2p/kad-dht') or load('@libp2p/crypto/keys')
export async function load (specifier) {
  const parts = specifier.split('/')
  const nameLen = specifier.startsWith('@') ? 2 : 1
  const name = parts.slice(0, nameLen).join('/')
  const sub = parts.length > nameLen ? './' + parts.slice(nameLen).join('/') : '.'
  const dir = join(INTEROP_MODULES, name)
  let pkg
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  } catch {
    throw new Error(`${name} not found in ${INTEROP_MODULES}: run npm ci in tests/interop first`)
  }
  const rel = pkg.exports != null ? entryOf(pkg.exports[sub]) : (sub === '.' ? (pkg.module ?? pkg.main) : sub)
  if (rel == null) throw new Error(`${specifier}: no import entry in ${name}/package.json`)
  return import(pathToFileURL(join(dir, rel)).href)
}
