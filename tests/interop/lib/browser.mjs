// Headless Chromium for the status-page tests, driven through chromedriver's
// W3C WebDriver HTTP API with fetch (Debian's chromium + chromium-driver; no
// npm package). Every call is bounded in time; close() ends the browser and
// the driver.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './harness.mjs'

const CHROMIUM = process.env.MP_CHROMIUM ?? '/usr/bin/chromium'
const CHROMEDRIVER = process.env.MP_CHROMEDRIVER ?? '/usr/bin/chromedriver'

// Why the browser tests cannot run here, or null.
export function browserMissing () {
  if (!existsSync(CHROMIUM)) return `no ${CHROMIUM} (Debian package chromium)`
  if (!existsSync(CHROMEDRIVER)) return `no ${CHROMEDRIVER} (Debian package chromium-driver)`
  return null
}

async function freePort () {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

export async function startBrowser ({ width = 1280, height = 1600 } = {}) {
  const port = await freePort()
  const profile = mkdtempSync(join(tmpdir(), 'mp-chromium-'))
  const driver = spawn(CHROMEDRIVER, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let driverLog = ''
  driver.stdout.on('data', d => { driverLog += d })
  driver.stderr.on('data', d => { driverLog += d })
  const base = `http://127.0.0.1:${port}`

  async function call (method, path, body) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30000)
    })
    const json = await res.json()
    return { status: res.status, value: json.value }
  }

  try {
    await waitFor(async () => {
      try { return (await call('GET', '/status')).value?.ready } catch { return false }
    }, { timeout: 15000, what: `chromedriver ready\n${driverLog}` })
    const session = await call('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          // An alert() stays open and fails the next command instead of
          // being dismissed quietly.
          unhandledPromptBehavior: 'ignore',
          'goog:chromeOptions': {
            binary: CHROMIUM,
            args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              '--no-first-run', '--disable-extensions', '--disable-background-networking',
              `--user-data-dir=${profile}`, `--window-size=${width},${height}`]
          }
        }
      }
    })
    if (session.status !== 200) throw new Error(`new session: ${JSON.stringify(session.value)}`)
    const id = session.value.sessionId
    const s = (path) => `/session/${id}${path}`
    const ok = (r, what) => {
      if (r.status !== 200) throw new Error(`${what}: ${JSON.stringify(r.value)}`)
      return r.value
    }
    return {
      async go (url) { ok(await call('POST', s('/url'), { url }), `navigate ${url}`) },
      // Runs `fn` (a function's source) in the page with `args`; returns its value.
      async run (fn, ...args) {
        return ok(await call('POST', s('/execute/sync'), { script: `return (${fn}).apply(null, arguments)`, args }), 'script')
      },
      // The text of an open alert/confirm/prompt, or null if none is open.
      async openAlert () {
        const r = await call('GET', s('/alert/text'))
        return r.status === 200 ? r.value : null
      },
      async resize (w, h) { ok(await call('POST', s('/window/rect'), { width: w, height: h }), 'resize') },
      async screenshot () { return Buffer.from(ok(await call('GET', s('/screenshot')), 'screenshot'), 'base64') },
      async close () {
        try { await call('DELETE', s('')) } catch {}
        driver.kill('SIGTERM')
        rmSync(profile, { recursive: true, force: true })
      }
    }
  } catch (e) {
    driver.kill('SIGKILL')
    rmSync(profile, { recursive: true, force: true })
    throw e
  }
}
