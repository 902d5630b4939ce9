// A real PostgreSQL 15 server for interop tests, started by the test: initdb
// into a temp dir, pg_ctl start on a Unix socket there (no TCP port), stopped
// and removed by stop(). As root the server runs as the system user mp-pg
// (created with useradd when missing): PostgreSQL refuses to run as root.
// The C++ tests do the same (tests/unit/storage/pg_server.cpp).
import { execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = process.env.MP_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const USER = 'mp-pg'
export const PG_PASSWORD = 'interop-Pa55word'

function asServerUser (cmd, args) {
  const root = process.getuid() === 0
  const [file, argv] = root ? ['runuser', ['-u', USER, '--', cmd, ...args]] : [cmd, args]
  return execFileSync(file, argv, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] })
}

export function startPg () {
  if (process.getuid() === 0) {
    try {
      execFileSync('id', ['-u', USER], { stdio: 'ignore' })
    } catch {
      try { execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]) } catch {
        execFileSync('id', ['-u', USER], { stdio: 'ignore' }) // made by a concurrent test, or throw
      }
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'mp-pg-'))
  if (process.getuid() === 0) chownSync(dir, Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })), 0)
  asServerUser(join(BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-locale'])
  const opts = `-k ${dir} -c listen_addresses= -c fsync=off -c synchronous_commit=off`
  const pg = {
    dir,
    running: false,
    url: `postgresql://postgres:${PG_PASSWORD}@/postgres?host=${dir}`,
    start () {
      asServerUser(join(BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start'])
      pg.running = true
    },
    stopServer () {
      asServerUser(join(BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop'])
      pg.running = false
    },
    // First column of each row, one per line (psql -tA).
    psql (sql) {
      return execFileSync(join(BIN, 'psql'), ['-d', pg.url, '-tAc', sql], { encoding: 'utf8', timeout: 10000 }).trim()
    },
    stop () {
      try { if (pg.running) pg.stopServer() } catch {}
      rmSync(dir, { recursive: true, force: true })
    }
  }
  pg.start()
  return pg
}
